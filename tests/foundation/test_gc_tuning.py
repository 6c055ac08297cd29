"""server.gc_young_threshold: once started, the start-up heap is frozen and young objects are
collected every N allocations; 0 leaves Python's collector alone."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest
from aiohttp import web

from hooksim.runner import serve_app, tune_gc


@pytest.fixture
def restore_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    gc.unfreeze()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


def test_zero_leaves_the_collector_alone(restore_gc: None) -> None:
    before = gc.get_threshold()
    tune_gc(0)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_a_threshold_freezes_start_up_and_sets_the_young_generation(restore_gc: None) -> None:
    _, middle, old = gc.get_threshold()
    made_at_start_up = [[] for _ in range(100)]   # containers the collector tracks
    tune_gc(4321)
    assert gc.get_threshold() == (4321, middle, old)
    assert gc.get_freeze_count() >= len(made_at_start_up)


async def test_serve_app_tunes_once_started(restore_gc: None) -> None:
    seen: list[tuple[int, int, int]] = []
    announced = asyncio.Event()

    def announce(base: str) -> None:
        announced.set()

    app = web.Application()
    task = asyncio.create_task(serve_app(app, "127.0.0.1", 0, 1.0, announce,
                                         gc_young_threshold=2345))
    await asyncio.wait_for(announced.wait(), 10)
    await asyncio.sleep(0)   # tune_gc runs right after announce
    seen.append(gc.get_threshold())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert seen[0][0] == 2345
    assert gc.get_freeze_count() > 0
