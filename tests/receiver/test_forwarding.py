"""Forwarding to the developer's app: byte for byte, verifiable, recorded, never in the way."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

from aiohttp import web

import signing
from receiver.settings import EndpointSettings
from tests.receiver.conftest import SECRET, MakeReceiver, default_settings, envelope, signed


class Target:
    """The developer's app: records what it gets, answers ``status`` after ``delay`` seconds."""

    def __init__(self, status: int = 202, delay: float = 0.0,
                 gate: asyncio.Event | None = None) -> None:
        self.status = status
        self.delay = delay
        self.gate = gate   # when given, no answer before it opens
        self.received: list[tuple[str, list[tuple[str, str]], bytes]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((request.method, list(request.headers.items()),
                              await request.read()))
        await asyncio.sleep(self.delay)
        if self.gate is not None:
            await self.gate.wait()
        return web.Response(status=self.status)

    async def start(self, aiohttp_server: Any) -> str:
        app = web.Application()
        app.router.add_post("/webhooks", self.handle)
        server = await aiohttp_server(app)
        return str(server.make_url("/webhooks"))


async def test_forward_is_byte_for_byte_and_still_verifies(make_receiver: MakeReceiver,
                                                           aiohttp_server: Any) -> None:
    target = Target()
    h = await make_receiver(forward_to=await target.start(aiohttp_server))
    body = envelope(note="Café ☕").replace(b",", b", ")  # odd spacing a re-encode would lose
    sent = signed(body, **{"X-Trace": "abc", "User-Agent": "Apache-HttpClient/4.5.10"})
    assert (await h.post("orders", body, sent, skip_auto_headers=("Accept", "Accept-Encoding"))
            )[0] == 200
    await h.receiver.forwarder.join()

    [(method, headers, data)] = target.received
    assert method == "POST" and data == body
    names = [name for name, _ in headers]
    got = dict(headers)
    signing.verify(SECRET, data, got["Toast-Signature"])
    for name in ("X-Trace", "User-Agent", "Toast-Event-Type", "Toast-Attempt-Number",
                 "Content-Type"):
        assert got[name] == sent[name], name
    assert int(got["Content-Length"]) == len(body)
    assert "Accept-Encoding" not in names and "Accept" not in names
    original = (await h.get("/api/messages/1"))["headers"]
    hop = {"Host", "Content-Length"}
    # The original headers in their order, nothing added: aiohttp's defaults are kept out.
    assert [n for n in names if n not in hop] == [n for n, _ in original if n not in hop]

    [message] = (await h.get("/api/messages"))["messages"]
    assert message["forward"]["status"] == 202 and message["forward"]["error"] is None
    assert message["forward"]["at"].endswith("Z")


async def test_endpoint_forward_target_wins_and_only_accepted_2xx_go(
        make_receiver: MakeReceiver, aiohttp_server: Any) -> None:
    mine, other = Target(), Target()
    settings = default_settings(forward_to=await other.start(aiohttp_server), endpoints=(
        EndpointSettings("orders", secrets=(SECRET,), forward_to=await mine.start(aiohttp_server)),
        EndpointSettings("flaky")))
    h = await make_receiver(settings)
    body = envelope()
    await h.post("orders", body, signed(body))
    await h.post("orders", body)  # 401: not forwarded
    async with h.client.put("/api/receiver/endpoints/flaky/faults", json={"status": 500}):
        pass
    await h.post("flaky", body)  # injected 500: the platform will retry, so not forwarded now
    await h.receiver.forwarder.join()
    assert len(mine.received) == 1 and other.received == []
    forwards = [m["forward"] for m in (await h.get("/api/messages"))["messages"]]
    assert [f and f["status"] for f in forwards] == [None, None, 202]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_a_dead_target_is_recorded_not_felt(make_receiver: MakeReceiver) -> None:
    h = await make_receiver(forward_to=f"http://127.0.0.1:{closed_port()}/x")
    assert (await h.post("open", envelope()))[0] == 200
    await h.receiver.forwarder.join()
    [message] = (await h.get("/api/messages"))["messages"]
    assert message["forward"]["status"] is None
    assert "Connect" in message["forward"]["error"]


async def test_a_slow_target_never_slows_the_answer(make_receiver: MakeReceiver,
                                                    aiohttp_server: Any) -> None:
    gate = asyncio.Event()   # the target answers nothing until the receiver has answered
    target = Target(gate=gate)
    h = await make_receiver(forward_to=await target.start(aiohttp_server), forward_timeout=60.0)
    # Had the answer waited for its forward, none could come back while the gate is shut.
    statuses = await asyncio.wait_for(
        asyncio.gather(*(h.post("open", envelope()) for _ in range(5))), 30)
    assert [s for s, _ in statuses] == [200] * 5
    assert not gate.is_set()
    gate.set()
    await h.receiver.forwarder.join()
    forwards = [m["forward"] for m in (await h.get("/api/messages"))["messages"]]
    assert [f["status"] for f in forwards] == [202] * 5
