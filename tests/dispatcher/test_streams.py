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
from web.times import iso, parse_time
from dispatcher.platform_clock import PlatformClock
from dispatcher.settings import BackoffSettings, SmtpSettings
from storage.settings import StorageSettings
from storage.web import setup_database
from tests.dispatcher.conftest import PATIENT, Target
from tests.endpoints import run_cli

T0 = 1_711_638_661.0


@pytest.fixture
async def served(aiohttp_client, storage_settings: StorageSettings):
    """The dispatcher as `hooksim serve` runs it in one process with clock.time_scale > 1."""

    async def make(preset: str = "current"):
        clock = PlatformClock(T0)
        app = web.Application()
        setup_database(app, replace(storage_settings, synchronous="normal"))
        setup_dispatcher(app, PATIENT, BackoffSettings(preset=preset), SmtpSettings(), clock)
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
    resp = await api.post("/api/streams", json={"eventCategory": "stock", "rate": 20,
                                                "duration": 30})
    assert resp.status == 201
    started = await resp.json()
    assert started["events"] == 600 and started["state"] == "running"
    done = await finished(api, started["id"])
    assert done["state"] == "done" and done["made"] == 600
    start = parse_time(started["startedAt"])
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
    ({"eventCategory": "nope", "rate": 1, "duration": 60}, "eventCategory"),
    ({"eventCategory": "stock", "rate": "20/s", "duration": 60}, "rate"),   # the CLI parses text
    ({"eventCategory": "stock", "rate": 0, "duration": 60}, "rate"),
    ({"eventCategory": "stock", "rate": 1001, "duration": 60}, "rate"),
    ({"eventCategory": "stock", "rate": True, "duration": 60}, "rate"),
    ({"eventCategory": "stock", "rate": 1, "duration": "10m"}, "duration"),
    ({"eventCategory": "stock", "rate": 1, "duration": -5}, "duration"),
    ({"eventCategory": "stock", "rate": 1, "duration": 31 * 86400}, "duration"),
    ({"eventCategory": "stock", "rate": 1, "duration": 60, "count": 3}, "count"),
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
    slow = {"eventCategory": "stock", "rate": 1 / 60, "duration": 20 * 86400}
    started = [await (await api.post("/api/streams", json=slow)).json() for _ in range(16)]
    refused = await api.post("/api/streams", json=slow)
    assert refused.status == 409 and "16 streams" in (await refused.json())["detail"]
    stopped = await api.delete(f"/api/streams/{started[0]['id']}")
    assert stopped.status == 200 and (await stopped.json())["state"] == "cancelled"
    assert (await api.post("/api/streams", json=slow)).status == 201   # room again
    for bad in ("999", "x", "-1"):
        resp = await api.delete(f"/api/streams/{bad}")
        assert resp.status == 404 and (await resp.json())["error"]


@pytest.mark.parametrize(("args", "message"), [
    (["--rate", "20/s"], "--rate and --for"),
    (["--rate", "fast", "--for", "10m"], "rate must look like"),
    (["--rate", "20/s", "--for", "soon"], "duration must look like"),
])
async def test_cli_stream_usage_errors_are_one_line(args: list[str], message: str) -> None:
    code, _, err = await run_cli("events", "send", "--category", "stock", *args)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
