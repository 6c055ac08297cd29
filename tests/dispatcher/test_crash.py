"""Kill a dispatcher process mid-delivery (SIGKILL), restart it: nothing is lost."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import pytest
from aiohttp import web

from storage.settings import StorageSettings
from tests.processes import intact, queue_deliveries, start, storage_args, wait_all_succeeded

EVENTS = 400
pytestmark = pytest.mark.slow


async def test_sigkill_mid_delivery_loses_nothing(aiohttp_server, tmp_path: Path,
                                                   storage_settings: StorageSettings) -> None:
    received: list[str] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(json.loads(await request.read())["guid"])
        await asyncio.sleep(0.005)   # slow enough that a kill lands mid-delivery
        return web.Response(status=200)

    # Queue the work before any dispatcher runs: the outbox is the only hand-over.
    db_path = storage_settings   # SQLite file or PostgreSQL schema
    queued = await queue_deliveries(aiohttp_server, db_path, EVENTS, hook)
    args, env = storage_args(db_path)
    env = {**env, "HOOKSIM_DISPATCHER_CONCURRENCY": "16"}

    proc, _ = await start(tmp_path, "serve", "--port", "0", *args, **env)
    for _ in range(500):                       # wait until delivery is under way
        if len(received) >= EVENTS // 4:
            break
        await asyncio.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    assert 0 < len(received) < EVENTS, "the kill should land mid-delivery"

    proc, _ = await start(tmp_path, "serve", "--port", "0", *args, **env)
    try:
        counts = await wait_all_succeeded(db_path, EVENTS)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 20) == 0

    assert counts == {"SUCCESS": EVENTS}
    assert set(received) == queued             # every event arrived, at least once
    assert intact(db_path)
