"""A real receiver app per test on the test's storage backend, the fake clock, a seeded RNG,
real HTTP: the ``make_receiver`` fixture (import it into a folder's conftest to use it)."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from dispatcher.clock import FakeClock
from receiver import setup_receiver
from receiver.running import RECEIVER, Receiver
from receiver.settings import EndpointSettings, ReceiverSettings
from storage.messages import RECEIVER_SCHEMA
from storage.settings import StorageSettings
from storage.web import setup_database
from tests.webhooks import SECRET


@dataclass
class Harness:
    client: TestClient
    clock: FakeClock  # the receiver's monotonic clock: fault schedules
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
        clock = FakeClock(1000.0)
        storage = replace(storage_settings, busy_timeout_ms=busy_timeout_ms)
        app = web.Application()
        setup_database(app, storage, [RECEIVER_SCHEMA])
        setup_receiver(app, settings or default_settings(**overrides), clock=clock.now,
                       rng=rng or random.Random(7), wall=wall)
        return Harness(await aiohttp_client(app), clock, storage)

    return make
