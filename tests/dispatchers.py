"""A dispatcher wired to a real database (SQLite, then PostgreSQL: the ``storage_settings``
fixture) and real local HTTP targets, on a fake clock: shared by every test folder (a folder uses
the fixtures by importing them into its conftest)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

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
from tests.webhooks import FAST, Target

if TYPE_CHECKING:
    from storage.backends import AnyDatabase


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

