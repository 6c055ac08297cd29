"""Kill a dispatcher process mid-delivery (SIGKILL), restart it: nothing is lost."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import pytest
from aiohttp import web

from dispatcher.backoff import PRESETS
from dispatcher.clock import ScaledClock
from dispatcher.service import DispatcherService
from dispatcher.settings import DispatcherSettings
from storage import open_database
from storage.deliveries import DeliveryStore

EVENTS = 400
pytestmark = pytest.mark.slow


async def start_serve(db: Path, cwd: Path) -> asyncio.subprocess.Process:
    env = {**os.environ, "HOOKSIM_DEMO_ENABLED": "false", "HOOKSIM_LOG_LEVEL": "warning",
           "HOOKSIM_DISPATCHER_CONCURRENCY": "16", "HOOKSIM_AUTH_CREDENTIALS_FILE":
           str(cwd / "credentials.json")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hooksim", "serve", "--port", "0", "--db", str(db),
        cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    line = await asyncio.wait_for(proc.stdout.readline(), 30)
    assert line.startswith(b"hooksim serving on"), line
    return proc


async def test_sigkill_mid_delivery_loses_nothing(aiohttp_server, tmp_path: Path) -> None:
    received: list[str] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(json.loads(await request.read())["guid"])
        await asyncio.sleep(0.005)   # slow enough that a kill lands mid-delivery
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/hook", hook)
    target = await aiohttp_server(app)

    # Queue the work before any dispatcher runs: the outbox is the only hand-over.
    db_path = tmp_path / "crash.db"
    db = await open_database(db_path)
    service = DispatcherService(db, ScaledClock(), DispatcherSettings(), PRESETS["current"])
    sub = await service.create_subscription(event_category="menus",
                                            url=str(target.make_url("/hook")),
                                            notification_email="dev@example.com")
    events = await service.send_events(category="menus", count=EVENTS)
    await db.close()

    proc = await start_serve(db_path, tmp_path)
    for _ in range(500):                       # wait until delivery is under way
        if len(received) >= EVENTS // 4:
            break
        await asyncio.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    killed_at = len(received)
    assert 0 < killed_at < EVENTS, "the kill should land mid-delivery"

    proc = await start_serve(db_path, tmp_path)
    try:
        db = await open_database(db_path)
        store = DeliveryStore(db)
        for _ in range(1000):
            counts = await store.status_counts(sub.guid)
            if counts.get("SUCCESS", 0) == EVENTS:
                break
            await asyncio.sleep(0.02)
        await db.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 20) == 0

    assert counts == {"SUCCESS": EVENTS}
    assert set(received) == {event.guid for event in events}   # every event arrived, at least once
