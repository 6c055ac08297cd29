"""Webhooks as the platform sends them (:func:`envelope`, :func:`signed`), a webhook target that
records what it gets (:class:`Target`) and the dispatcher settings tests deliver with: shared by
every test folder (a conftest is its own folder's)."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from aiohttp import web

import signing
from dispatcher.settings import DispatcherSettings

SECRET = "test-secret"


def envelope(guid: str | None = None, category: str = "menus", event_type: str = "menus_updated",
             restaurant: str = "00000000-1111-2222-3333-444444444444",
             timestamp: str = "2024-03-28T15:11:01.050Z", **extra: Any) -> bytes:
    """A Toast envelope as the platform would send it (compact JSON, UTF-8)."""
    body = {"timestamp": timestamp, "eventCategory": category, "eventType": event_type,
            "guid": guid or str(uuid.uuid4()),
            "details": {"restaurantGuid": restaurant, "publishedDate": timestamp}, **extra}
    return json.dumps(body, separators=(",", ":")).encode()


def signed(body: bytes, secret: str = SECRET, **headers: str) -> dict[str, str]:
    """The headers the platform sends with ``body``."""
    data = json.loads(body)
    return {"Content-Type": "application/json; charset=utf-8",
            "Toast-Signature": signing.sign(secret, body, data["timestamp"]),
            "Toast-Event-Type": data["eventType"], "Toast-Event-Category": data["eventCategory"],
            "Toast-Attempt-Number": "1", **headers}


@dataclass
class Target:
    """A webhook endpoint that answers what the test says and remembers what it got."""

    status: int = 200
    delay: float = 0.0
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.requests.append((dict(request.headers), body))
        if self.delay:
            await asyncio.sleep(self.delay)
        if 300 <= self.status < 400:
            raise web.HTTPFound("/elsewhere") if self.status == 302 else web.HTTPMovedPermanently(
                "/elsewhere")
        return web.Response(status=self.status, text=f"answered {self.status}")


FAST = DispatcherSettings(read_timeout=0.3, connect_timeout=0.3, poll_interval=0.01)
# For tests whose attempts must get their answer: the platform's own 2 s timeouts, which a busy
# machine (a connection per attempt, two CPU hogs) does not reach, where FAST's 0.3 s can.
PATIENT = replace(FAST, read_timeout=2.0, connect_timeout=2.0)
