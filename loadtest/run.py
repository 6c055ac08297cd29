"""``hooksim load``: the real dispatcher (service + engine) against any URL, in compressed time.

Nothing here decides anything about delivery: a stream (:mod:`dispatcher.streams`) makes events
through ``DispatcherService.send_events`` and the unmodified :class:`DeliveryEngine` loop sends,
retries, pauses and stops, all on one :class:`PlatformClock`: platform time jumps across the idle
gaps and runs at wall speed while an attempt is in flight, so the verdict is the same at every
time scale and on a busy machine. This module only starts them, watches (hooks for live counters)
and reads the result back from storage when the run ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dispatcher.backoff import Transition, TransitionKind, rules_from_settings
from dispatcher.clock import Wakeup
from dispatcher.disorder import Disorder
from dispatcher.engine import DeliveryEngine
from dispatcher.http import HttpSender, Response, new_session
from loadtest.report import Report, Timing, build_report
from loadtest.scenario import Scenario
from dispatcher.platform_clock import PlatformClock
from dispatcher.service import DispatcherService, check_url
from dispatcher.streams import Progress, Stream, play
from dispatcher.settings import BackoffSettings, DisorderSettings, DispatcherSettings
from storage.backends import open_storage
from storage.settings import StorageSettings
from storage.deliveries import DeliveryRecord, DeliveryStore
from storage.subscriptions import SubscriptionRecord

_SHOW_EVERY = 0.2        # wall seconds between refreshes of the live display
_AHEAD = 10.0            # platform seconds the stream commits events before their moments
_AFTER_END = 0.001       # the run ends just after its last moment, once that moment's work is done


@dataclass(frozen=True)
class LoadOptions:
    url: str
    secret: str
    scenario: Scenario
    time_scale: float | None = None   # the most compression allowed; None: as much as exactness allows
    concurrency: int = 64
    timeout: float = 2.0          # wall seconds to connect and to read (the platform's 2 s)
    db_path: str | None = None    # None: a temporary file, deleted afterwards
    storage: StorageSettings | None = None   # another database (e.g. PostgreSQL) instead
    disorder: DisorderSettings = DisorderSettings()   # duplicates, reordering, late copies


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
    clock = PlatformClock(max_scale=options.time_scale or math.inf)
    db = await open_storage(replace(storage, synchronous="normal"))
    session = new_session(settings)
    finish = Wakeup()   # set when the subscription stops or the run is interrupted

    async def transition_hook(_sub: SubscriptionRecord, transition: Transition) -> None:
        live.on_transition(transition)
        if transition.kind is TransitionKind.STOPPED:
            finish.set()   # nothing more can reach the endpoint until an operator restarts it

    engine = DeliveryEngine(DeliveryStore(db), HttpSender(session, settings.response_excerpt_bytes),
                            clock, settings, rules, on_transition=transition_hook,
                            on_attempt=live.on_attempt)
    disorder = Disorder(options.disorder)
    service = DispatcherService(db, clock, settings, rules, wake=engine.wake,
                                on_transition=transition_hook, disorder=disorder)
    background: list[asyncio.Task[object]] = []
    stopped = False
    try:
        subscription = await _subscribe(service, options)
        start = clock.now()
        await engine.start()
        progress = Progress()
        stream = Stream(scenario.category, scenario.rate, scenario.duration)
        background.append(clock.start_task(play(
            service, clock, stream, start=start, progress=progress,
            keep_going=lambda: live.state != "STOPPED" and not stop.is_set(), ahead=_AHEAD)))
        background.append(asyncio.create_task(_show(
            clock, start, scenario, progress, live, on_tick,
            lambda: service.deliveries.status_counts(subscription.guid))))
        background.append(asyncio.create_task(_interrupt(stop, finish)))
        # Everything due by the end (a retry, a pause ending) is handled before the run ends:
        # the clock cannot pass a moment whose work has not been done.
        await clock.wait(finish, until=start + scenario.duration + _AFTER_END)
        end = min(clock.now(), start + scenario.duration)
        stopped = True
        await engine.stop(timeout=3 * options.timeout + 1)
        live.elapsed, live.events = end - start, progress.made
        statuses = await service.deliveries.status_counts(subscription.guid, made_by=end)
        live.pending = statuses.get("PENDING", 0)
        on_tick(live)
        report = build_report(
            scenario, rules, start=start, end=end,
            attempts=await service.deliveries.attempts_of_subscription(subscription.guid),
            transitions=await service.subscriptions.transitions(subscription.guid),
            statuses=statuses,   # events made ahead for after the end never happened
            time_scale=options.time_scale, url=options.url, interrupted=stop.is_set(),
            timing=Timing(compression=(end - start) / max(1e-9, time.monotonic() - clock.started_wall),
                          late=max(clock.max_lateness, progress.late)))
        if options.disorder.active:
            # The report counts events, not the extra deliveries of them the disorder made.
            summary = report.data["disorder"] = disorder.summary(made_by=end)
            report.data["events"] -= summary["duplicates"] + summary["late"]
        return report
    finally:
        for task in background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if not stopped:
            await engine.stop(timeout=3 * options.timeout + 1)
        await session.close()
        await db.close()


async def _subscribe(service: DispatcherService, options: LoadOptions) -> SubscriptionRecord:
    """A subscription signed with the secret the endpoint under test knows."""
    return await service.create_subscription(
        event_category=options.scenario.category, url=options.url,
        notification_email="load@hooksim.invalid", secret=options.secret)


async def _interrupt(stop: asyncio.Event, finish: Wakeup) -> None:
    """Ctrl-C (wall time) ends the run where platform time is."""
    await stop.wait()
    finish.set()


async def _show(clock: PlatformClock, start: float, scenario: Scenario, progress: Progress,
                live: Live, on_tick: Callable[[Live], None],
                statuses: Callable[[], Any]) -> None:
    """The live display, refreshed in wall time; it only reads, so it holds no platform time."""
    while True:
        live.elapsed = min(clock.now() - start, scenario.duration)
        live.events = min(progress.made, int(live.elapsed * scenario.rate) + 1)   # not those made ahead
        live.pending = (await statuses()).get("PENDING", 0)
        on_tick(live)
        await asyncio.sleep(_SHOW_EVERY)
