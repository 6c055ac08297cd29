"""SIGKILL the dispatcher at random points while 2 000 events are delivered, several rounds.

After each kill: no delivery is SUCCESS unless the target holds its event. After the last
restart: every delivery reaches a final status and the target holds every event at least once.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
from pathlib import Path

import pytest
from aiohttp import web

from storage.settings import StorageSettings
from tests.processes import (
    intact,
    query,
    queue_deliveries,
    start,
    storage_args,
    wait_all_succeeded,
)

EVENTS = 2000
ROUNDS = 3
pytestmark = pytest.mark.slow


async def test_random_sigkills_while_delivering_2000_events_lose_nothing(
        aiohttp_server, tmp_path: Path, storage_settings: StorageSettings) -> None:
    received: list[str] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(json.loads(await request.read())["guid"])
        return web.Response(status=200)

    db_path = storage_settings   # SQLite file or PostgreSQL schema
    events = await queue_deliveries(aiohttp_server, db_path, EVENTS, hook)

    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    storage, env = storage_args(db_path)
    args = ("serve", "--port", "0", *storage)
    env = {**env, "HOOKSIM_DISPATCHER_CONCURRENCY": "16"}
    kills = []
    for round_ in range(ROUNDS):
        # A kill point somewhere in the next stretch of the remaining work, plus a random delay
        # so it lands at any moment of an attempt (sending, waiting, recording).
        goal = len(received) + rng.randint(50, (EVENTS - len(received)) // (ROUNDS - round_ + 1))
        proc, _ = await start(tmp_path, *args, **env)
        while len(received) < goal and proc.returncode is None:
            await asyncio.sleep(0.002)
        await asyncio.sleep(rng.uniform(0, 0.02))
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        kills.append(len(received))
        assert len(received) < EVENTS, f"round {round_} finished before the kill (seed {seed})"
        succeeded = {row[0] for row in query(
            db_path, "SELECT event_guid FROM delivery WHERE status = 'SUCCESS'")}
        assert succeeded <= set(received), f"SUCCESS recorded but not received (seed {seed})"

    proc, _ = await start(tmp_path, *args, **env)
    try:
        counts = await wait_all_succeeded(db_path, EVENTS)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 20) == 0

    print(f"\nkills after {kills} deliveries (seed {seed}); {len(received)} requests for "
          f"{EVENTS} events ({len(received) - EVENTS} re-sent after a kill)")
    assert counts == {"SUCCESS": EVENTS}, f"seed {seed}"
    assert set(received) == events, f"seed {seed}"
    assert intact(db_path)
