"""Faults over HTTP: set at run time, played on the fake clock, stored with the message."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest

from receiver.settings import EndpointSettings, FaultSettings
from tests.receiver.conftest import (
    SECRET,
    Harness,
    MakeReceiver,
    default_settings,
    envelope,
    signed,
)


async def put_faults(h: Harness, name: str, body: Any) -> tuple[int, Any]:
    async with h.client.put(f"/api/receiver/endpoints/{name}/faults", json=body) as response:
        return response.status, await response.json()


async def post_signed(h: Harness, name: str = "orders", **kwargs: Any) -> tuple[int, Any]:
    body = envelope()
    return await h.post(name, body, signed(body), **kwargs)


async def stored(h: Harness) -> list[tuple[int | None, str | None]]:
    """(status, fault) of every stored message, oldest first."""
    messages = (await h.get("/api/messages"))["messages"]
    return [(m["status"], m["fault"]) for m in reversed(messages)]


async def test_a_schedule_plays_on_the_receivers_clock(make_receiver: MakeReceiver) -> None:
    h = await make_receiver()
    status, endpoint = await put_faults(h, "orders", {"phases": ["503:60s", "close:30s", "ok"]})
    assert status == 200
    assert endpoint["faults"]["phases"] == ["503:60s", "close:30s", "ok"]
    assert endpoint["faults"]["currentPhase"] == 0

    status, answer = await post_signed(h)
    assert (status, answer["error"]) == (503, "injected_fault")
    h.clock.advance(59.9)
    assert (await post_signed(h))[0] == 503
    h.clock.advance(0.1)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await post_signed(h)
    h.clock.advance(30)
    assert (await post_signed(h))[0] == 200
    assert await stored(h) == [(503, "status 503, phase 1"), (503, "status 503, phase 1"),
                               (None, "close, phase 2"), (200, None)]
    listed = await h.get("/api/receiver/endpoints")
    assert listed["endpoints"][1]["name"] == "orders"
    assert listed["endpoints"][1]["faults"]["currentPhase"] == 2


async def test_configured_phases_start_with_the_receiver(make_receiver: MakeReceiver) -> None:
    flaky = EndpointSettings("flaky", faults=FaultSettings(phases=("429:10s",)))
    h = await make_receiver(default_settings(endpoints=(flaky,)))
    assert (await h.post("flaky", envelope()))[0] == 429
    h.clock.advance(10)
    assert (await h.post("flaky", envelope()))[0] == 200


async def test_faults_apply_to_rejected_requests_too(make_receiver: MakeReceiver) -> None:
    h = await make_receiver()
    await put_faults(h, "orders", {"status": 500})
    assert (await h.post("orders", envelope()))[0] == 500  # unsigned: would have been 401
    [message] = (await h.get("/api/messages"))["messages"]
    assert (message["status"], message["reason"], message["accepted"]) == (
        500, "missing_signature", False)


async def test_a_failure_rate_fails_some_and_stores_all(make_receiver: MakeReceiver) -> None:
    h = await make_receiver()
    await put_faults(h, "orders", {"status": 502, "failureRate": 0.5})
    statuses = [(await post_signed(h))[0] for _ in range(30)]
    assert set(statuses) == {200, 502}
    assert len(await stored(h)) == 30


async def test_a_delay_holds_the_answer(make_receiver: MakeReceiver) -> None:
    h = await make_receiver()
    await put_faults(h, "orders", {"delayMs": 150})
    started = time.monotonic()
    assert (await post_signed(h))[0] == 200
    assert time.monotonic() - started >= 0.15
    assert await stored(h) == [(200, "delay 150ms")]


async def test_a_hang_outlasts_the_callers_timeout(make_receiver: MakeReceiver) -> None:
    h = await make_receiver()
    await put_faults(h, "orders", {"hang": True})
    with pytest.raises(asyncio.TimeoutError):
        await post_signed(h, timeout=aiohttp.ClientTimeout(total=0.3))
    assert await stored(h) == [(None, "hang")]


async def test_a_hang_ends_by_dropping_the_connection(make_receiver: MakeReceiver) -> None:
    h = await make_receiver(hang_seconds=0.2)
    await put_faults(h, "orders", {"hang": True})
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await post_signed(h)


async def test_204_is_injected_without_a_body(make_receiver: MakeReceiver) -> None:
    h = await make_receiver()
    await put_faults(h, "orders", {"status": 204})
    async with h.client.post("/hooks/orders", data=envelope()) as response:
        assert (response.status, await response.read()) == (204, b"")


async def test_clearing_and_bad_requests(make_receiver: MakeReceiver) -> None:
    h = await make_receiver()
    await put_faults(h, "orders", {"status": 500})
    status, endpoint = await put_faults(h, "orders", {})
    assert status == 200 and endpoint["faults"]["status"] == 0
    assert endpoint["secrets"] == 1 and SECRET not in str(endpoint)  # never the secret itself
    for body in ({"status": "500"}, {"failureRate": 2}, {"phases": ["soon"]}, {"nope": 1}, [1],
                 {"hang": 1}, {"status": 100}):
        status, answer = await put_faults(h, "orders", body)
        assert (status, answer["error"]) == (400, "invalid_input"), body
    assert (await put_faults(h, "nobody", {}))[0] == 404
    async with h.client.put("/api/receiver/endpoints/orders/faults", data=b"{") as response:
        assert response.status == 400


async def test_auto_endpoints_keep_faults_set_on_them(make_receiver: MakeReceiver) -> None:
    h = await make_receiver(auto_endpoints=True)
    assert (await put_faults(h, "made-up", {"status": 418}))[0] == 200
    assert (await h.post("made-up", envelope()))[0] == 418
    async with h.client.get("/api/receiver/endpoints/made-up") as response:
        assert (await response.json())["faults"]["status"] == 418
    async with h.client.get("/api/receiver/endpoints/never-seen") as response:
        assert (await response.json())["faults"]["status"] == 0
