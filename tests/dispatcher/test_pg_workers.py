"""Several dispatchers on one PostgreSQL database (issue #9): real concurrent sessions, each
engine with its own PostgresDatabase, against a real HTTP target that records what it gets.

- every delivery is sent exactly once per attempt number across engines (SKIP LOCKED claims);
- a killed engine's claims come back to the others when their lease runs out;
- back-off is shared: one pause per window's worth of errors, one stop, the same history as one
  engine alone (each batch locks its subscriptions before reading their state).

Platform time is a shared FakeClock; the engines run their claims and recordings concurrently
(asyncio.gather), each on its own connections, so PostgreSQL sees them overlap.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from aiohttp import web

from dispatcher.backoff import PRESETS, BackoffRules
from dispatcher.clock import FakeClock
from dispatcher.engine import DeliveryEngine
from dispatcher.transitions import notification_for
from dispatcher.http import HttpSender, new_session
from dispatcher.service import DispatcherService
from storage.backends import open_storage
from storage.deliveries import DeliveryStore
from storage.settings import StorageSettings
from tests.backends import storage_settings_for
from tests.dispatcher.conftest import PATIENT

NO_BACKOFF = BackoffRules(10**6, 300.0, 60.0, 10**6, 600.0)   # never pauses


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[StorageSettings]:
    with storage_settings_for("postgresql", tmp_path) as settings:
        yield settings


@dataclass
class Recorder:
    """The webhook target: answers ``status`` (after ``hold`` is set, if given) and records
    (path, event guid, attempt number) of every request it answers."""

    status: int = 200
    hold: asyncio.Event | None = None
    seen: list[tuple[str, str, int]] = field(default_factory=list)
    arrived: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.arrived += 1
        if self.hold is not None:
            await self.hold.wait()
        self.seen.append((request.path, json.loads(body)["guid"],
                          int(request.headers["Toast-Attempt-Number"])))
        return web.Response(status=self.status)


@pytest.fixture
async def recorder(aiohttp_server) -> tuple[Recorder, str]:
    recorder = Recorder()
    app = web.Application()
    app.router.add_post("/hook/{name}", recorder.handle)
    server = await aiohttp_server(app)
    return recorder, str(server.make_url("/hook/"))


@dataclass
class Fleet:
    clock: FakeClock
    service: DispatcherService
    engines: list[DeliveryEngine]

    async def round(self, engines: list[DeliveryEngine] | None = None) -> int:
        """Every engine claims and sends at once, then all their results are recorded
        (recording batches claim the slots they free, concurrently too)."""
        engines = self.engines if engines is None else engines
        started = await asyncio.gather(*(e.step() for e in engines))
        await asyncio.gather(*(e.drain() for e in engines))
        return sum(started)


async def fleet(stack: AsyncExitStack, settings: StorageSettings, engines: int,
                rules: BackoffRules, concurrency: int) -> Fleet:
    """``engines`` engines, each with its own database handle (connections) and HTTP session."""
    clock = FakeClock()
    dispatcher = replace(PATIENT, concurrency=concurrency)
    hook = notification_for(rules)

    async def opened() -> object:
        db = await open_storage(replace(settings, synchronous="normal"))
        stack.push_async_callback(db.close)
        return db

    service = DispatcherService(await opened(), clock, dispatcher, rules, notify=hook)
    made = []
    for _ in range(engines):
        db = await opened()
        session = new_session(dispatcher)
        stack.push_async_callback(session.close)
        engine = DeliveryEngine(DeliveryStore(db), HttpSender(session), clock, dispatcher, rules,
                                notify=hook)
        # Every round drains: nothing is left in flight but a killed engine's attempts,
        # which no drain would ever see recorded.
        stack.push_async_callback(engine.stop, 0.1)
        made.append(engine)
    return Fleet(clock, service, made)


async def subscribe(f: Fleet, url: str, category: str = "menus") -> str:
    sub = await f.service.create_subscription(event_category=category, url=url,
                                              notification_email="ops@example.com")
    return sub.guid


async def test_each_attempt_goes_out_exactly_once_across_engines(pg, recorder) -> None:
    target, base = recorder
    target.status = 500   # menus: 3 attempts each, 5 and 10 minutes apart
    async with AsyncExitStack() as stack:
        f = await fleet(stack, pg, engines=3, rules=NO_BACKOFF, concurrency=8)
        subs = [await subscribe(f, base + name) for name in ("a", "b")]
        await f.service.send_events(category="menus", count=60)
        for _ in range(40):
            await f.round()
            if not await f.service.deliveries.any_pending():
                break
            f.clock.advance(150)
        counts = Counter(target.seen)
        assert [key for key, n in counts.items() if n > 1] == []   # no attempt sent twice
        assert len(counts) == 2 * 60 * 3                         # and none missing
        for guid in subs:
            statuses = await f.service.deliveries.status_counts(guid)
            assert statuses == {"FAILURE": 60}
            attempts = await f.service.deliveries.attempts_of_subscription(guid)
            assert sorted(Counter(a.number for a in attempts).items()) == [(1, 60), (2, 60),
                                                                           (3, 60)]


async def test_a_killed_engines_claims_return_when_their_lease_runs_out(pg, recorder) -> None:
    target, base = recorder
    target.hold = asyncio.Event()
    async with AsyncExitStack() as stack:
        f = await fleet(stack, pg, engines=2, rules=NO_BACKOFF, concurrency=50)
        doomed, survivor = f.engines
        sub = await subscribe(f, base + "a")
        await f.service.send_events(category="menus", count=20)
        assert await doomed.step() == 20
        while target.arrived < 20:   # every attempt is at the target, none answered
            await asyncio.sleep(0.01)
        await doomed.stop(timeout=0)   # killed: nothing recorded, its leases stay
        target.hold.set()
        assert await f.round([survivor]) == 0        # leased: not the survivor's to take
        f.clock.advance(doomed.lease_seconds - 0.01)
        assert await f.round([survivor]) == 0
        f.clock.advance(0.02)                        # the leases have run out
        assert await f.round([survivor]) == 20
        assert await f.service.deliveries.status_counts(sub) == {"SUCCESS": 20}
        attempts = await f.service.deliveries.attempts_of_subscription(sub)
        assert len(attempts) == 20 and {a.number for a in attempts} == {1}


async def _stop_a_failing_subscription(settings: StorageSettings, base: str,
                                       engines: int) -> list[tuple[str, float, int, int]]:
    """Feed one always-failing subscription 30 events every 10 platform seconds until it is
    STOPPED; its back-off history as (kind, at, errors, pauses)."""
    async with AsyncExitStack() as stack:
        f = await fleet(stack, settings, engines=engines, rules=PRESETS["current"],
                        concurrency=max(1, 40 // engines))
        sub = await subscribe(f, base + "a")
        for _ in range(120):
            await f.service.send_events(category="menus", count=30)
            await f.round()
            if (await f.service.get_subscription(sub)).status == "STOPPED":
                break
            f.clock.advance(10)
        history = await f.service.subscriptions.transitions(sub)
        return [(t.kind, t.at, t.errors_in_window, t.pauses_in_window) for t in history]


async def test_backoff_is_shared_one_pause_per_window_one_stop(pg, recorder, tmp_path) -> None:
    target, base = recorder
    target.status = 500
    shared = await _stop_a_failing_subscription(pg, base, engines=3)
    kinds = [kind for kind, *_ in shared]
    # One worker's pause holds for all: never a second PAUSED (or a STOPPED) while paused.
    assert kinds == ["PAUSED", "RESUMED"] * 8 + ["STOPPED"], kinds
    with storage_settings_for("postgresql", tmp_path) as alone:
        assert await _stop_a_failing_subscription(alone, base, engines=1) == shared
