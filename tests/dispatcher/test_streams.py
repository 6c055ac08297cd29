"""Server-side event streams on the platform clock (POST /api/streams, `events send --rate`):
each event is made at its own platform moment, whatever the machine is doing, so a back-off
walkthrough reaches the same verdict on a busy machine as on an idle one."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import pytest
from aiohttp import web

from dispatcher.app import setup_dispatcher
from dispatcher.clock import iso, parse_iso
from dispatcher.platform_clock import PlatformClock
from dispatcher.settings import BackoffSettings, SmtpSettings
from storage.settings import StorageSettings
from storage.web import setup_database
from tests.dispatcher.conftest import FAST, Target
from tests.loadtest.conftest import run_cli

T0 = 1_711_638_661.0


@pytest.fixture
async def served(aiohttp_client, storage_settings: StorageSettings):
    """The dispatcher as `hooksim serve` runs it in one process with clock.time_scale > 1."""

    async def make(preset: str = "current"):
        clock = PlatformClock(T0)
        app = web.Application()
        setup_database(app, replace(storage_settings, synchronous="normal"))
        setup_dispatcher(app, FAST, BackoffSettings(preset=preset), SmtpSettings(), clock)
        return await aiohttp_client(app), clock

    return make


async def subscribe(api, url: str) -> str:
    resp = await api.post("/api/subscriptions", json={
        "eventCategory": "stock", "url": url, "notificationEmail": "dev@example.com"})
    assert resp.status == 201, await resp.text()
    return (await resp.json())["guid"]


async def finished(api, stream_id: int) -> dict:
    """Poll (wall time, bounded) until the stream is done; asserts nothing about how long."""
    for _ in range(3000):
        streams = (await (await api.get("/api/streams")).json())["streams"]
        stream = next(s for s in streams if s["id"] == stream_id)
        if stream["state"] != "running":
            return stream
        await asyncio.sleep(0.02)
    raise AssertionError(f"stream {stream_id} did not finish: {stream}")


async def test_a_stream_makes_each_event_at_its_own_platform_moment(served, target: Target) -> None:
    api, clock = await served()
    await subscribe(api, target.url)
    resp = await api.post("/api/streams", json={"eventCategory": "stock", "rate": "20/s",
                                                "duration": "30s"})
    assert resp.status == 201
    started = await resp.json()
    assert started["events"] == 600 and started["state"] == "running"
    done = await finished(api, started["id"])
    assert done["state"] == "done" and done["made"] == 600
    start = parse_iso(started["startedAt"])
    assert started["endsAt"] == iso(start + 599 / 20) and done["lateSeconds"] >= 0
    for _ in range(500):   # the last deliveries' results are recorded after the stream ends
        if len(target.requests) == 600:
            break
        await asyncio.sleep(0.02)
    stamps = sorted(json.loads(body)["timestamp"] for _, body in target.requests)
    assert stamps == [iso(start + i / 20) for i in range(600)]
    assert clock.now() >= start + 599 / 20


async def test_a_stream_at_a_dead_endpoint_reaches_stopped(served, target: Target) -> None:
    target.status = 500
    api, _ = await served(preset="legacy")   # 3 errors in 1 min pause; 3 pauses in 200 s stop
    guid = await subscribe(api, target.url)
    resp = await api.post("/api/streams", json={"eventCategory": "stock", "rate": 1,
                                                "duration": 600})
    done = await finished(api, (await resp.json())["id"])
    assert done["made"] == 600
    backoff = await (await api.get(f"/api/subscriptions/{guid}/backoff")).json()
    assert backoff["status"] == "STOPPED", backoff
    # The third pause is the stop (it is recorded as STOPPED, with 3 pauses in its window).
    assert [t["kind"] for t in backoff["history"]] == [
        "PAUSED", "RESUMED", "PAUSED", "RESUMED", "STOPPED"]


@pytest.mark.parametrize(("body", "field"), [
    ({"eventCategory": "nope", "rate": "1/s", "duration": "1m"}, "eventCategory"),
    ({"eventCategory": "stock", "rate": "fast", "duration": "1m"}, "rate"),
    ({"eventCategory": "stock", "rate": 0, "duration": "1m"}, "rate"),
    ({"eventCategory": "stock", "rate": "1/s", "duration": "soon"}, "duration"),
    ({"eventCategory": "stock", "rate": "1/s", "duration": -5}, "duration"),
    ({"eventCategory": "stock", "rate": "1000/s", "duration": "1000h"}, "duration"),
    ({"eventCategory": "stock", "rate": "1/s", "duration": "1m", "count": 3}, "count"),
])
async def test_bad_streams_are_400_naming_the_field(served, body: dict, field: str) -> None:
    api, _ = await served()
    resp = await api.post("/api/streams", json=body)
    assert resp.status == 400
    answer = await resp.json()
    assert answer["field"] == field and answer["detail"]


async def test_a_stream_can_be_stopped_and_unknown_ones_are_404(served, target: Target) -> None:
    api, _ = await served()
    await subscribe(api, target.url)
    started = await (await api.post("/api/streams", json={
        "eventCategory": "stock", "rate": "1/min", "duration": "1000h"})).json()
    stopped = await api.delete(f"/api/streams/{started['id']}")
    assert stopped.status == 200 and (await stopped.json())["state"] == "cancelled"
    for bad in ("999", "x", "-1"):
        resp = await api.delete(f"/api/streams/{bad}")
        assert resp.status == 404 and (await resp.json())["error"]


async def test_cli_stream_needs_rate_and_for_together() -> None:
    code, _, err = await run_cli("events", "send", "--category", "stock", "--rate", "20/s")
    assert code == 2 and "--rate and --for" in err and len(err.strip().splitlines()) == 1
