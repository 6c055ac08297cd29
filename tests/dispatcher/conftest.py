"""A dispatcher wired to a real database (SQLite, then PostgreSQL: the ``storage_settings``
fixture) and real local HTTP targets, on a fake clock."""

from __future__ import annotations

from typing import TYPE_CHECKING

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace

import pytest
from aiohttp import web

from dispatcher.backoff import PRESETS, BackoffRules
from dispatcher.clock import FakeClock
from dispatcher.engine import DeliveryEngine
from dispatcher.transitions import notification_for
from dispatcher.http import HttpSender, new_session
from dispatcher.service import DispatcherService
from dispatcher.settings import DispatcherSettings
from storage.backends import open_storage
from storage.deliveries import DeliveryStore
from storage.settings import StorageSettings

if TYPE_CHECKING:
    from storage.backends import AnyDatabase


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


@pytest.fixture
async def target(aiohttp_server) -> Target:
    target = Target()
    app = web.Application()
    app.router.add_post("/hook", target.handle)
    app.router.add_post("/elsewhere", target.handle)
    server = await aiohttp_server(app)
    target.url = str(server.make_url("/hook"))
    return target


@dataclass
class Dispatcher:
    db: AnyDatabase
    clock: FakeClock
    service: DispatcherService
    engine: DeliveryEngine

    async def run_due(self) -> int:
        """Send everything due now and wait until the results are recorded."""
        started = await self.engine.step()
        await self.engine.drain()
        return started

    async def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        await self.run_due()


FAST = DispatcherSettings(read_timeout=0.3, connect_timeout=0.3, poll_interval=0.01)
# For tests whose attempts must get their answer: the platform's own 2 s timeouts, which a busy
# machine (a connection per attempt, two CPU hogs) does not reach, where FAST's 0.3 s can.
PATIENT = replace(FAST, read_timeout=2.0, connect_timeout=2.0)


@pytest.fixture
def dispatcher_settings() -> DispatcherSettings:
    return FAST


@pytest.fixture
def backoff_rules() -> BackoffRules:
    return PRESETS["current"]


@pytest.fixture
async def dispatcher(storage_settings: StorageSettings, dispatcher_settings: DispatcherSettings,
                     backoff_rules: BackoffRules) -> AsyncIterator[Dispatcher]:
    db = await open_storage(replace(storage_settings, synchronous="normal"))
    clock = FakeClock()
    session = new_session(dispatcher_settings)
    hook = notification_for(backoff_rules)   # as setup_dispatcher wires it
    engine = DeliveryEngine(DeliveryStore(db), HttpSender(session), clock, dispatcher_settings,
                            backoff_rules, notify=hook)
    service = DispatcherService(db, clock, dispatcher_settings, backoff_rules, wake=engine.wake,
                                notify=hook)
    try:
        yield Dispatcher(db, clock, service, engine)
    finally:
        await engine.stop(timeout=5)
        await session.close()
        await db.close()

