"""``hooksim load``: the real dispatcher (service + engine) against any URL, in scaled time.

Nothing here decides anything about delivery: events go in through ``DispatcherService.send_events``
and the unmodified :class:`DeliveryEngine` loop sends, retries, pauses and stops. This module only
feeds events at the platform-time rate, watches (hooks for live counters) and reads the result
back from storage when the run ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dispatcher.backoff import Transition, TransitionKind, rules_from_settings
from dispatcher.clock import ScaledClock
from dispatcher.engine import DeliveryEngine
from dispatcher.http import HttpSender, Response, new_session
from dispatcher.loadtest.report import Report, build_report
from dispatcher.loadtest.scenario import Scenario
from dispatcher.service import DispatcherService, check_url
from dispatcher.settings import BackoffSettings, DispatcherSettings
from storage.backends import open_storage
from storage.settings import StorageSettings
from storage.deliveries import DeliveryRecord, DeliveryStore
from storage.subscriptions import SubscriptionRecord

_FEED_TICK = 0.02        # wall seconds between feeder wake-ups: events go in small batches
_BATCH = 5_000           # events per send_events call (one transaction)


@dataclass(frozen=True)
class LoadOptions:
    url: str
    secret: str
    scenario: Scenario
    time_scale: float = 60.0
    concurrency: int = 64
    timeout: float = 2.0          # wall seconds to connect and to read (the platform's 2 s)
    db_path: str | None = None    # None: a temporary file, deleted afterwards
    storage: StorageSettings | None = None   # another database (e.g. PostgreSQL) instead


@dataclass
class Live:
    """Counters the progress display reads while the run goes on (updated by engine hooks)."""

    elapsed: float = 0.0          # platform seconds since the start
    events: int = 0
    sent: int = 0
    successes: int = 0
    errors: int = 0
    pending: int = 0              # deliveries waiting: new ones not yet sent and retries
    state: str = "ACTIVE"
    transitions: list[Transition] = field(default_factory=list)

    def on_attempt(self, _delivery: DeliveryRecord, _number: int, response: Response) -> None:
        self.sent += 1
        if response.outcome.is_success:
            self.successes += 1
        else:
            self.errors += 1

    def on_transition(self, transition: Transition) -> None:
        self.transitions.append(transition)
        self.state = ("ACTIVE" if transition.kind in (TransitionKind.RESUMED, TransitionKind.RESTARTED)
                      else transition.kind.value)


def dispatcher_settings(options: LoadOptions) -> DispatcherSettings:
    """Platform defaults, with the run's concurrency and (wall-clock) network timeouts."""
    return DispatcherSettings(
        connect_timeout=options.timeout, read_timeout=options.timeout,
        concurrency=options.concurrency, connection_limit=max(100, options.concurrency),
        poll_interval=0.05, seed=options.scenario.seed)


async def run_load(options: LoadOptions, *, live: Live | None = None,
                   stop: asyncio.Event | None = None,
                   on_tick: Callable[[Live], None] = lambda _live: None) -> Report:
    """Play the scenario; returns the report of what ran, also when ``stop`` cut it short."""
    check_url(options.url, block_private_networks=False)
    live = live or Live()
    stop = stop or asyncio.Event()
    with contextlib.ExitStack() as cleanup:
        storage = options.storage or StorageSettings(
            path=options.db_path or str(Path(cleanup.enter_context(
                tempfile.TemporaryDirectory(prefix="hooksim-load-"))) / "load.db"))
        return await _run(options, storage, live, stop, on_tick)


async def _run(options: LoadOptions, storage: StorageSettings, live: Live, stop: asyncio.Event,
               on_tick: Callable[[Live], None]) -> Report:
    scenario = options.scenario
    settings = dispatcher_settings(options)
    rules = rules_from_settings(BackoffSettings(preset=scenario.preset))   # type: ignore[arg-type]
    clock = ScaledClock(options.time_scale)
    db = await open_storage(replace(storage, synchronous="normal"))
    session = new_session(settings)

    async def transition_hook(_sub: SubscriptionRecord, transition: Transition) -> None:
        live.on_transition(transition)

    engine = DeliveryEngine(DeliveryStore(db), HttpSender(session, settings.response_excerpt_bytes),
                            clock, settings, rules, on_transition=transition_hook,
                            time_scale=options.time_scale, on_attempt=live.on_attempt)
    service = DispatcherService(db, clock, settings, rules, wake=engine.wake,
                                on_transition=transition_hook)
    try:
        subscription = await _subscribe(service, options)
        start = clock.now()
        await engine.start()
        try:
            await _feed(service, scenario, clock, start, live, stop, on_tick,
                        lambda: service.deliveries.status_counts(subscription.guid))
            end = min(clock.now(), start + scenario.duration)
            if not stop.is_set():
                await _catch_up(service, clock, clock.now())   # the last batch may be after end
        finally:
            await engine.stop(timeout=3 * options.timeout + 1)
        return build_report(
            scenario, rules, start=start, end=end,
            attempts=await service.deliveries.attempts_of_subscription(subscription.guid),
            transitions=await service.subscriptions.transitions(subscription.guid),
            statuses=await service.deliveries.status_counts(subscription.guid),
            time_scale=options.time_scale, url=options.url, interrupted=stop.is_set())
    finally:
        await session.close()
        await db.close()


async def _subscribe(service: DispatcherService, options: LoadOptions) -> SubscriptionRecord:
    """A subscription signed with the secret the endpoint under test knows."""
    return await service.create_subscription(
        event_category=options.scenario.category, url=options.url,
        notification_email="load@hooksim.invalid", secret=options.secret)


async def _catch_up(service: DispatcherService, clock: ScaledClock, end: float) -> None:
    """Let the engine work off what fell due before ``end`` (it may lag at high time scales),
    so those deliveries count as sent or Not sent rather than pending; at most 5 wall seconds."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(5.0):
            while (due := await service.deliveries.next_due_at()) is not None and due <= end:
                await asyncio.sleep(0.02)


async def _feed(service: DispatcherService, scenario: Scenario, clock: ScaledClock, start: float,
                live: Live, stop: asyncio.Event, on_tick: Callable[[Live], None],
                statuses: Callable[[], Any]) -> None:
    """Make event ``i`` at platform time ``start + i / rate`` until the duration is over.

    Ends early when the subscription is STOPPED: nothing more can reach the endpoint until an
    operator restarts it, so the rest of the run would only add Not-sent events.
    """
    total, ticks = scenario.events, 0
    while not stop.is_set() and live.state != "STOPPED":
        live.elapsed = min(clock.now() - start, scenario.duration)
        due = min(total, int(live.elapsed * scenario.rate) + 1)
        while live.events < due:
            count = min(due - live.events, _BATCH)
            await service.send_events(category=scenario.category, count=count)
            live.events += count
        ticks += 1
        if ticks % 10 == 0:
            live.pending = (await statuses()).get("PENDING", 0)
            on_tick(live)
        if live.elapsed >= scenario.duration:
            break
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_FEED_TICK):
                await stop.wait()
    live.pending = (await statuses()).get("PENDING", 0)
    on_tick(live)
