"""A real receiver app per test on each storage backend, a fake clock, a seeded RNG, real HTTP."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

import signing
from receiver import setup_receiver
from receiver.running import RECEIVER, Receiver
from receiver.settings import EndpointSettings, ReceiverSettings
from storage.messages import RECEIVER_SCHEMA
from storage.settings import StorageSettings
from storage.web import setup_database
from tests.auth.helpers import ManualClock

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
class Harness:
    client: TestClient
    clock: ManualClock  # the receiver's monotonic clock: fault schedules
    storage: StorageSettings

    @property
    def receiver(self) -> Receiver:
        return self.client.app[RECEIVER]

    async def post(self, name: str, body: bytes, headers: dict[str, str] | None = None,
                   **kwargs: Any) -> tuple[int, Any]:
        async with self.client.post(f"/hooks/{name}", data=body, headers=headers,
                                    **kwargs) as response:
            payload = await response.json(content_type=None) if response.content_length != 0 \
                else None
            return response.status, payload

    async def get(self, path: str, **params: Any) -> Any:
        async with self.client.get(path, params=params) as response:
            assert response.status == 200, await response.text()
            return await response.json()


def default_settings(**overrides: Any) -> ReceiverSettings:
    base = ReceiverSettings(
        endpoints=(EndpointSettings("orders", secrets=(SECRET,)),
                   EndpointSettings("rotating", secrets=("old-secret", SECRET)),
                   EndpointSettings("open")),
        max_body_bytes=4096, hang_seconds=5.0)
    return replace(base, **overrides)


MakeReceiver = Callable[..., Awaitable[Harness]]


@pytest.fixture
def make_receiver(aiohttp_client: Any, storage_settings: StorageSettings) -> MakeReceiver:
    async def make(settings: ReceiverSettings | None = None, *, busy_timeout_ms: int = 5000,
                   rng: random.Random | None = None, wall: Callable[[], float] | None = None,
                   **overrides: Any) -> Harness:
        clock = ManualClock(1000.0)
        storage = replace(storage_settings, busy_timeout_ms=busy_timeout_ms)
        app = web.Application()
        setup_database(app, storage, [RECEIVER_SCHEMA])
        setup_receiver(app, settings or default_settings(**overrides), clock=clock,
                       rng=rng or random.Random(7), wall=wall)
        return Harness(await aiohttp_client(app), clock, storage)

    return make
