"""SIGTERM under load, dispatcher and receiver: in-flight work finishes or is left PENDING,
nothing is half-written, and the process exits (status 0) within a bounded time."""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from tests.webhooks import SECRET, envelope, signed
from storage.settings import StorageSettings
from tests.processes import (
    intact,
    query,
    queue_deliveries,
    start,
    storage_args,
    wait_all_succeeded,
)

pytestmark = pytest.mark.slow
SHUTDOWN = 1.0   # server.shutdown_timeout for these runs
# The server's connections get SHUTDOWN to finish, then the dispatcher's in-flight attempts get
# SHUTDOWN again; the rest is interpreter start-up and tear-down.
BOUND = 2 * SHUTDOWN + 5.0
EVENTS = 300


async def terminate(proc: asyncio.subprocess.Process) -> float:
    """SIGTERM; the seconds until the process exited (status 0 asserted)."""
    began = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    code = await asyncio.wait_for(proc.wait(), BOUND + 10)
    took = time.monotonic() - began
    assert code == 0, code
    assert took < BOUND, f"exit took {took:.1f} s, more than {BOUND} s"
    return took


async def test_sigterm_of_the_dispatcher_mid_delivery(aiohttp_server, tmp_path: Path,
                                                      storage_settings: StorageSettings) -> None:
    received: list[str] = []
    started = 0

    async def hook(request: web.Request) -> web.Response:
        nonlocal started
        started += 1
        guid = json.loads(await request.read())["guid"]
        # Most answers are quick; some outlast the shutdown timeout (but not the 2 s read
        # timeout), so they are cut off and must be left PENDING, not recorded either way.
        await asyncio.sleep(1.5 if started % 20 == 0 else 0.02)
        received.append(guid)
        return web.Response(status=200)

    db_path = storage_settings   # SQLite file or PostgreSQL schema
    events = await queue_deliveries(aiohttp_server, db_path, EVENTS, hook)

    storage, env = storage_args(db_path)
    args = ("serve", "--port", "0", *storage)
    env = {**env, "HOOKSIM_DISPATCHER_CONCURRENCY": "16",
           "HOOKSIM_SERVER_SHUTDOWN_TIMEOUT": str(SHUTDOWN)}
    proc, _ = await start(tmp_path, *args, **env)
    for _ in range(3000):
        if len(received) >= EVENTS // 3:
            break
        await asyncio.sleep(0.005)
    took = await terminate(proc)

    assert intact(db_path)
    counts = dict(query(db_path, "SELECT status, count(*) FROM delivery GROUP BY status"))
    assert set(counts) == {"SUCCESS", "PENDING"}, counts   # finished, or left for the next start
    succeeded = {r[0] for r in query(db_path,
                                     "SELECT event_guid FROM delivery WHERE status = 'SUCCESS'")}
    assert succeeded <= set(received)
    # Nothing half-written: each delivery's attempt counter matches its attempt rows, and every
    # SUCCESS has its 2xx attempt recorded.
    assert query(db_path, """SELECT d.webhook_guid FROM delivery d
                             WHERE d.total_attempts != (SELECT count(*) FROM attempt a
                                                        WHERE a.delivery_id = d.id)""") == []
    assert query(db_path, """SELECT d.webhook_guid FROM delivery d WHERE d.status = 'SUCCESS'
                             AND NOT EXISTS (SELECT 1 FROM attempt a WHERE a.delivery_id = d.id
                                             AND a.status_code BETWEEN 200 AND 299)""") == []
    pending_at_stop = counts["PENDING"]

    proc, _ = await start(tmp_path, *args, **env)     # the next start finishes the rest
    try:
        counts = await wait_all_succeeded(db_path, EVENTS)
    finally:
        await terminate(proc)
    print(f"\ndispatcher SIGTERM: exit in {took:.2f} s, {pending_at_stop} left PENDING")
    assert counts == {"SUCCESS": EVENTS}
    assert set(received) == events


async def test_sigterm_of_the_receiver_under_load(tmp_path: Path,
                                                 storage_settings: StorageSettings) -> None:
    storage, env = storage_args(storage_settings)
    proc, url = await start(tmp_path, "receive", "--port", "0", "--secret", SECRET, *storage,
                            first_line="hooksim receiver listening on",
                            HOOKSIM_SERVER_SHUTDOWN_TIMEOUT=str(SHUTDOWN), **env)
    acknowledged: set[str] = set()
    refused = 0
    stopping = asyncio.Event()

    async def post(session: aiohttp.ClientSession) -> None:
        nonlocal refused
        guid = str(uuid.uuid4())
        body = envelope(guid)
        try:
            async with session.post(f"{url}/hooks/orders", data=body,
                                    headers=signed(body)) as response:
                if 200 <= response.status < 300:
                    acknowledged.add(guid)
                else:
                    assert response.status == 503, response.status   # "stopping": retried
                    refused += 1
        except (aiohttp.ClientError, asyncio.TimeoutError):
            refused += 1
        if len(acknowledged) >= 100:
            stopping.set()

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session:
        async def load() -> None:
            while proc.returncode is None:
                await asyncio.gather(*(post(session) for _ in range(20)))

        loader = asyncio.create_task(load())
        await stopping.wait()
        took = await terminate(proc)
        await loader

    assert intact(storage_settings)
    rows = query(storage_settings, "SELECT event_guid, status FROM receiver_message")
    stored = {guid for guid, status in rows}
    assert acknowledged <= stored
    assert all(status is not None for _, status in rows)   # every stored row is complete
    print(f"\nreceiver SIGTERM: exit in {took:.2f} s, {len(acknowledged)} acknowledged and "
          f"stored, {refused} refused or cut off")
