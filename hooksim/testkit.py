"""The test kit behind hooksim's pytest plugin: an in-process platform and receiver for a user's tests.

:class:`Platform` runs the real dispatcher (service, engine, back-off) on the exact platform clock
(:class:`~dispatcher.platform_clock.PlatformClock`): platform time jumps across idle waits, so a
retry due ten minutes later, a five-minute pause and its end happen in moments, and runs at wall
speed while the user's app is answering. :class:`Receiver` is hooksim's receiver on 127.0.0.1,
for apps that send webhooks on. Both work without pytest (``async with Platform.started(...)``).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from aiohttp import web

from dispatcher import events as catalogue
from dispatcher.backoff import rules_from_settings
from dispatcher.disorder import Disorder
from dispatcher.engine import DeliveryEngine
from dispatcher.http import HttpSender, new_session
from dispatcher.platform_clock import PlatformClock
from dispatcher.service import BackoffView, DispatcherService
from dispatcher.settings import BackoffSettings, DisorderSettings, DispatcherSettings
from receiver import RECEIVER, setup_receiver
from receiver.settings import ReceiverSettings
from storage.backends import open_storage
from storage.deliveries import AttemptRecord, DeliveryQuery, DeliveryRecord, DeliveryStore
from storage.messages import MessageQuery, ReceivedMessage
from storage.settings import StorageSettings
from storage.subscriptions import SubscriptionRecord
from storage.web import setup_database

#: How much platform time :meth:`Platform.settle` lets pass at most: every retry schedule ends
#: well within it (the longest waits 1 h between attempts).
SETTLE_WITHIN = 24 * 3600.0
_PAGE = 500


class NotSettled(AssertionError):
    """Deliveries were still pending when the platform time given to settle ran out."""


@dataclass(frozen=True)
class Delivery:
    """One event delivered to one subscription, and every attempt at it."""

    record: DeliveryRecord
    attempts: tuple[AttemptRecord, ...]

    @property
    def event_guid(self) -> str:
        return self.record.event_guid

    @property
    def event_type(self) -> str:
        return self.record.event_type

    @property
    def status(self) -> str:
        """SUCCESS, PENDING (a retry or a pause to come), FAILURE (gave up) or NOT_SENT."""
        return self.record.status

    @property
    def statuses(self) -> list[int | None]:
        """The HTTP status of each attempt in order (None: no answer)."""
        return [a.status_code for a in self.attempts]

    @property
    def body(self) -> bytes:
        return self.record.body


class Platform:
    """The platform in this process: subscribe URLs, send events, read what happened."""

    def __init__(self, service: DispatcherService, engine: DeliveryEngine,
                 clock: PlatformClock) -> None:
        self.service, self.engine, self.clock = service, engine, clock

    @classmethod
    @contextlib.asynccontextmanager
    async def started(cls, database: str | Path, *, preset: str = "current", seed: int = 0,
                      timeout: float = 2.0, settings: DispatcherSettings | None = None,
                      disorder: DisorderSettings | None = None) -> AsyncIterator[Platform]:
        """A platform on a new SQLite file ``database``; ``preset``: current or legacy back-off;
        ``timeout``: wall seconds the platform waits to connect and for an answer (Toast: 2);
        ``disorder``: duplicates, reordering and late copies on purpose (dispatcher.disorder)."""
        settings = settings or DispatcherSettings(connect_timeout=timeout, read_timeout=timeout,
                                                  poll_interval=0.05, seed=seed)
        rules = rules_from_settings(BackoffSettings(preset=preset))   # type: ignore[arg-type]
        clock = PlatformClock(max_scale=math.inf)
        db = await open_storage(replace(StorageSettings(path=str(database)), synchronous="normal"))
        session = new_session(settings)
        engine = DeliveryEngine(DeliveryStore(db), HttpSender(session, settings.response_excerpt_bytes),
                                clock, settings, rules)
        service = DispatcherService(db, clock, settings, rules, wake=engine.wake,
                                    disorder=Disorder(disorder or DisorderSettings(seed=seed)))
        try:
            await engine.start()
            yield cls(service, engine, clock)
        finally:
            await engine.stop(timeout=3 * timeout + 1)
            await session.close()
            await db.close()

    # -- acting ------------------------------------------------------------------------------
    async def subscribe(self, url: str, category: str = "orders", *, secret: str | None = None,
                        name: str | None = None) -> SubscriptionRecord:
        """A subscription of ``category`` delivering to ``url``, signed with ``secret`` (the one
        your app verifies with; a new one when not given: read it from ``.secret``)."""
        return await self.service.create_subscription(
            event_category=category, url=url, notification_email="tests@hooksim.invalid",
            secret=secret, name=name)

    async def send(self, category: str, event_type: str | None = None, *, count: int = 1,
                   details: Mapping[str, Any] | None = None, restaurant_guid: str | None = None,
                   large: bool = False) -> list[catalogue.Event]:
        """``count`` events of ``category``, each delivered to every subscription of it."""
        return await self.service.send_events(category=category, event_type=event_type,
                                              count=count, details=details,
                                              restaurant_guid=restaurant_guid, large=large)

    async def redeliver(self, delivery: Delivery) -> None:
        """The same event (same GUID, same bytes) again, as the platform's retries send it."""
        await self.service.replay(delivery.record.webhook_guid)

    async def advance(self, seconds: float) -> None:
        """Let ``seconds`` of platform time pass (instantly while nothing is in flight)."""
        await self.clock.sleep(seconds)

    async def settle(self, within: float = SETTLE_WITHIN) -> None:
        """Wait, in platform time, until no delivery is pending: every retry made, every pause
        over. Raises :class:`NotSettled` if ``within`` platform seconds were not enough."""
        deadline = self.clock.now() + within
        while True:
            # Reading the outbox holds platform time, as the engine's own work does: otherwise,
            # while a read waits on a busy machine, an idle clock jumps to the engine's next
            # wake-up, past the deadline and the retries this call should have seen.
            with self.clock.holding():
                if not await self.service.deliveries.any_pending():
                    return
                due = await self.service.deliveries.next_due_at()
                if self.clock.now() >= deadline:
                    counts = await self.service.deliveries.status_counts()
                    raise NotSettled(f"still pending after {within:g} platform seconds: "
                                     f"{counts}")
                # Straight to the next moment anything is due (a retry, a pause ending), no
                # later than the deadline; the clock jumps there when nothing is in flight.
                wait_until = min(deadline, due if due is not None and due > self.clock.now()
                                 else self.clock.now() + 1.0)
            await self.clock.sleep_until(wait_until)

    # -- reading -----------------------------------------------------------------------------
    async def deliveries(self, subscription: SubscriptionRecord) -> list[Delivery]:
        """Every delivery to ``subscription``, oldest first, each with its attempts."""
        records: list[DeliveryRecord] = []
        cursor = None
        while True:
            page = await self.service.deliveries.list(
                DeliveryQuery(subscription.guid, limit=_PAGE, cursor=cursor))
            records += page.items
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        records.sort(key=lambda r: (r.created_at, r.id))
        return [Delivery(r, tuple(await self.service.deliveries.attempts(r.webhook_guid)))
                for r in records]

    async def backoff(self, subscription: SubscriptionRecord) -> BackoffView:
        """``status`` (ACTIVE, PAUSED, STOPPED), errors and pauses in their windows, and the
        history of pauses, resumes and stops."""
        return await self.service.backoff(subscription.guid)


class Receiver:
    """hooksim's receiver on 127.0.0.1: verifies with ``secret``, stores every request."""

    def __init__(self, base_url: str, secret: str, app: web.Application) -> None:
        self.base_url, self.secret, self._app = base_url, secret, app

    @classmethod
    @contextlib.asynccontextmanager
    async def started(cls, database: str | Path, secret: str,
                      settings: ReceiverSettings | None = None) -> AsyncIterator[Receiver]:
        app = web.Application()
        setup_database(app, StorageSettings(path=str(database)))
        setup_receiver(app, settings or ReceiverSettings(auto_endpoints=True, secrets=(secret,)))
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            yield cls(f"http://127.0.0.1:{port}", secret, app)
        finally:
            await runner.cleanup()

    def url(self, endpoint: str = "hook") -> str:
        """Where to send webhooks: ``/hooks/{endpoint}``."""
        return f"{self.base_url}/hooks/{endpoint}"

    async def messages(self, endpoint: str | None = None) -> list[ReceivedMessage]:
        """What arrived (at ``endpoint``, or anywhere), oldest first, with headers and exact body;
        ``.verified`` says whether its signature held."""
        store = self._app[RECEIVER].store
        found = [message async for message in store.export(MessageQuery(endpoint=endpoint))]
        return sorted(found, key=lambda m: (m.received_at, m.id))

