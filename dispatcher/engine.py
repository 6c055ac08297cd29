"""The delivery engine: claims due deliveries, gates them by back-off, sends, records.

It only executes decisions made by pure code (:mod:`dispatcher.policy`, :mod:`dispatcher.backoff`).
Time comes from the injected clock, so tests drive minutes of platform time with :meth:`step` and
a fake clock. The engine tells the clock what it does: a claimed attempt holds platform time until
its result is recorded, and its HTTP exchange is a flight (on the platform clock, real time counts
only then, so compressing time never changes a decision). Attempt results are recorded in batches: one transaction per batch carries the
attempts, the deliveries' new statuses, the subscriptions' back-off states, their transitions and
the notifications those transitions cause, so none of them can exist without the others.

Each claim and each recording batch is one :meth:`DeliveryStore.batch`: the whole transaction
runs on the database thread in one hand-over (the pure decisions run there too, they are plain
functions of the rows read). Everything the batch decided is logged, and handed to observers,
on the event loop once it has committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from functools import partial

import structlog

from dispatcher import events as catalogue
from dispatcher.backoff import BackoffRules, BackoffState, Transition, advance, may_send, observe
from dispatcher.clock import Clock, Wakeup
from dispatcher.http import HttpSender, Response
from dispatcher.policy import (DeliveryStatus, RetryAfter, RetrySchedule, decide, schedule_for,
                               status_after)
from dispatcher.settings import DispatcherSettings
from storage.deliveries import AttemptRecord, DeliveryRecord, DeliveryStore, DispatchBatch
from storage.notifications import NewNotification
from storage.subscriptions import SubscriptionRecord, TransitionRecord

log = structlog.get_logger("hooksim.dispatcher")

# Composes the email a back-off transition causes, or None (e.g. RESUMED: no email). Plain and
# synchronous: it runs inside the batch that records the transition, which writes its result
# to the notification outbox in the same transaction.
Notify = Callable[[SubscriptionRecord, Transition], NewNotification | None]
# Told of every back-off transition once its transaction has committed, in order, on the event
# loop (e.g. live load-test counters); may be a coroutine function.
TransitionHook = Callable[[SubscriptionRecord, Transition], Awaitable[None] | None]
# Called after every attempt's HTTP exchange, before it is recorded (e.g. live load-test counters).
AttemptHook = Callable[[DeliveryRecord, int, Response], None]
# Told once a batch has committed that ``count`` deliveries of a category reached a status: an
# attempt's SUCCESS, PENDING (a retry is scheduled) or FAILURE, or NOT_SENT (metrics).
StatusHook = Callable[[str, str, int], None]

_RECORD_BATCH = 500
# Once a result is in and others are still in flight, the recorder waits this long (wall
# seconds) at most for more, up to half the slots: each recording transaction has fixed costs
# (its commit and fsync, the reads every batch makes, a hand-over, a log line) worth ~15 us per
# attempt at ~20 attempts a batch. Tiny next to a lease (seconds), so no result outlives one.
_GATHER_WALL = 0.002


def request_headers(delivery: DeliveryRecord, attempt_number: int,
                    settings: DispatcherSettings) -> dict[str, str]:
    """The platform's headers (spec section 3); the signature was computed over these exact bytes.

    aiohttp adds Host and Content-Length; the session skips its automatic ``Accept``
    (:data:`dispatcher.http.SKIP_AUTO_HEADERS`), which Toast does not send.
    """
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Toast-Signature": delivery.signature,
        "Toast-Event-Type": delivery.event_type,
        "Toast-Event-Category": catalogue.envelope_category(delivery.category, delivery.event_type,
                                                            settings, delivery.body),
        "Toast-Attempt-Number": str(attempt_number),
        "User-Agent": settings.user_agent,
        "Accept-Encoding": "gzip,deflate",
    }
    if not settings.keep_alive:
        headers["Connection"] = "close"
    if delivery.restaurant_guid is not None:
        headers["Toast-Restaurant-External-ID"] = delivery.restaurant_guid
    return headers


def record_transition(batch: DispatchBatch, subscription: SubscriptionRecord,
                      transition: Transition, notify: Notify | None) -> None:
    """Write a back-off transition to the history and, in the same transaction, the email it
    causes to the outbox."""
    batch.add_transition(TransitionRecord(
        subscription.guid, transition.kind.value, transition.at, transition.errors_in_window,
        transition.pauses_in_window, transition.reason))
    if notify is not None and (email := notify(subscription, transition)) is not None:
        batch.add_notification(email)


async def tell(hook: TransitionHook | None, subscription: SubscriptionRecord,
               transitions: list[Transition]) -> None:
    """Hand committed transitions to an observer, in order."""
    if hook is None:
        return
    for transition in transitions:
        outcome = hook(subscription, transition)
        if outcome is not None:
            await outcome


@dataclass(frozen=True, slots=True)
class _Result:
    delivery: DeliveryRecord
    number: int
    started_at: float
    finished_at: float
    response: Response


@dataclass
class _Committed:
    """What one batch decided, for logging and observers once it has committed."""

    transitions: list[tuple[SubscriptionRecord, Transition]] = field(default_factory=list)
    to_send: list[DeliveryRecord] = field(default_factory=list)
    not_sent: list[tuple[DeliveryRecord, str]] = field(default_factory=list)
    not_sent_later: int = 0   # due later in a pause: decided now (see not_sent_before)
    not_sent_later_by: Counter[str] = field(default_factory=Counter)   # the same, per category
    statuses: list[str] = field(default_factory=list)   # each recorded attempt's delivery status
    next_due: float | None = None


class _BackoffStates:
    """Subscriptions' back-off states read once per batch and written back at its end.

    Runs on the database thread inside the batch: transitions, and the notifications
    ``notify`` composes for them, are written in the same transaction. The store locks what it
    reads until the batch ends (on a database several dispatchers share), so a state read here
    stays the latest while this batch decides on it.
    """

    def __init__(self, batch: DispatchBatch, rules: BackoffRules, notify: Notify | None,
                 committed: _Committed):
        self._batch, self._rules, self._notify, self._committed = batch, rules, notify, committed
        self._states: dict[str, tuple[SubscriptionRecord, BackoffState]] = {}
        self._gone: set[str] = set()   # deleted while their deliveries were in flight
        self._changed: set[str] = set()

    def load(self, guids: Iterable[str]) -> None:
        """Read these subscriptions together: a set known up front is locked in one
        statement, in one order every batch shares (no deadlock between two such sets)."""
        wanted = {g for g in guids if g not in self._states and g not in self._gone}
        records = self._batch.subscriptions(wanted)
        for guid in wanted:
            record = records.get(guid)
            if record is None:
                self._gone.add(guid)
            else:
                self._states[guid] = (record, BackoffState.from_json(dict(record.backoff)))

    def get(self, guid: str) -> BackoffState | None:
        if guid not in self._states and guid not in self._gone:
            self.load((guid,))
        entry = self._states.get(guid)
        return None if entry is None else entry[1]

    def put(self, guid: str, state: BackoffState, transitions: list[Transition]) -> None:
        record, old = self._states[guid]
        if not transitions and (state is old or state == old):   # `is`: the usual success
            return
        self._states[guid] = (record, state)
        self._changed.add(guid)
        for transition in transitions:
            record_transition(self._batch, record, transition, self._notify)
            self._committed.transitions.append((record, transition))

    def flush(self, at: float) -> None:
        for guid in self._changed:
            _, state = self._states[guid]
            self._batch.save_backoff(guid, state.status.value, state.to_json(),
                                     state.paused_until, at)


class DeliveryEngine:
    def __init__(
        self,
        deliveries: DeliveryStore,
        sender: HttpSender,
        clock: Clock,
        settings: DispatcherSettings,
        rules: BackoffRules,
        *,
        notify: Notify | None = None,
        on_transition: TransitionHook | None = None,
        on_committed: Callable[[], None] | None = None,
        on_attempt: AttemptHook | None = None,
        on_status: StatusHook | None = None,
    ) -> None:
        self._store = deliveries
        self._on_status = on_status
        self._notify = notify
        self._on_attempt = on_attempt
        self._sender = sender
        self._clock = clock
        self._settings = settings
        self._rules = rules
        self._on_transition = on_transition
        self._on_committed = on_committed or (lambda: None)
        # A fixed pool of ``concurrency`` senders takes claimed deliveries from a queue (a task
        # per attempt cost more); a slot stays taken while its delivery waits in the queue.
        self._queue: asyncio.Queue[DeliveryRecord] = asyncio.Queue()
        self._senders: list[asyncio.Task[None]] = []
        self._sending = 0                # taken from the queue, not yet answered
        self._unrecorded = 0             # attempts started whose result is not yet committed
        self._all_recorded = asyncio.Event()
        self._all_recorded.set()
        self._results: list[_Result] = []
        self._results_ready = asyncio.Event()
        self._wake = Wakeup()
        self._recorder: asyncio.Task[None] | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._next_due: float | None = None   # as the last claim saw it
        self._reserved = 0     # free slots a claim in progress may fill
        self._refill = True    # recording batches also claim the slots they free (not in stop())
        self._schedules: dict[str, RetrySchedule] = {}   # schedule_for's, per category
        self.busy_since: float | None = None   # wall (monotonic) start of the loop's pass; None parked

    @property
    def lease_seconds(self) -> float:
        """Platform seconds an attempt may be in flight before another worker may take it over."""
        wall = self._settings.connect_timeout + 2 * self._settings.read_timeout + 5.0
        return self._clock.span(wall)

    def wake(self) -> None:
        """Something new is due (an event was created, a delivery replayed)."""
        self._wake.set()

    async def step(self) -> int:
        """One pass at the clock's current time: end pauses, claim due deliveries, send them.

        Returns how many attempts were started. They run in the background; :meth:`drain`
        waits for them and for their results to be recorded (recording also claims what is
        due for the slots it frees, so a steady flow needs one transaction per batch).
        """
        self._ensure_recorder()
        self._wake.clear()   # a wake-up from now on asks for another pass: nothing is missed
        with self._clock.holding():   # the claim is instant in platform time
            now = self._clock.now()
            committed = await self._claiming(now)
            self._next_due = committed.next_due
            await self._committed(committed)
        return len(committed.to_send)

    async def _claiming(self, now: float, *, results: list[_Result] | None = None,
                        claim: bool = True) -> _Committed:
        """Run :meth:`_claim` as one batch that records ``results`` and, unless ``claim`` is
        false, claims the free slots; then start what it claimed.

        A slot is taken from the claim until the attempt's result is recorded (``results`` free
        theirs). Slots are reserved while the batch runs, so a claim and a recording batch
        running one after the other never exceed ``concurrency`` between them.
        """
        taken = self._unrecorded - len(results or ()) + self._reserved
        free = max(0, self._settings.concurrency - taken) if claim else 0
        self._reserved += free
        try:
            committed = await self._store.batch(partial(self._claim, now=now, free=free,
                                                        results=results))
        finally:
            self._reserved -= free
        if committed.to_send:
            self._clock.hold(len(committed.to_send))   # released once recorded
            self._unrecorded += len(committed.to_send)
            self._all_recorded.clear()
            for delivery in committed.to_send:
                self._queue.put_nowait(delivery)
        return committed

    def _claim(self, batch: DispatchBatch, *, now: float, free: int,
               results: list[_Result] | None = None) -> _Committed:
        """One batch on the database thread: record ``results`` (a recording batch), end the
        pauses that ran out, lease due deliveries for the ``free`` slots; those whose
        subscription may not send now become NOT_SENT.

        On PostgreSQL locks are taken in one order by every batch, so two dispatchers'
        batches cannot deadlock: the recorded deliveries (id order), the claimed ones (SKIP
        LOCKED: never waits), then every subscription the batch may change, in one statement.
        Locking the results', the ending pauses' and the claimed deliveries' subscriptions
        statement by statement, or subscriptions before deliveries, let batches cross (one
        holding A and waiting for B, the other the reverse): deadlocks that, retried and
        retried under load, failed recordings, and attempts already sent were sent again
        after their lease.
        """
        committed = _Committed()
        states = _BackoffStates(batch, self._rules, self._notify, committed)
        batch.lock_deliveries(r.delivery.id for r in results or ())
        ending = batch.paused_until_before(now, lock=False)
        claimed = batch.claim_due(now, free, now + self.lease_seconds) if free > 0 else []
        states.load([*(r.delivery.subscription_guid for r in results or ()),
                     *(record.guid for record in ending),
                     *(d.subscription_guid for d in claimed)])
        if results:
            self._record_results(batch, results, states, committed)
        for record in ending:   # after recording, as before: an error then still counts paused
            state = states.get(record.guid)
            if state is not None:
                states.put(record.guid, *advance(state, self._rules, now))
        paused: dict[str, float] = {}
        categories: dict[str, str] = {}
        for delivery in claimed:
            state = states.get(delivery.subscription_guid)
            if state is not None and may_send(state, self._rules, now):
                committed.to_send.append(delivery)
            else:
                batch.set_status(delivery.id, DeliveryStatus.NOT_SENT, None, now,
                                 series=delivery.series)
                committed.not_sent.append(
                    (delivery, state.status.value if state else "DELETED"))
                if state is not None and state.paused_until is not None:
                    paused[delivery.subscription_guid] = state.paused_until
                    categories[delivery.subscription_guid] = delivery.category
        for guid, until in paused.items():   # the rest of the pause's deliveries, at once
            later = batch.not_sent_before(guid, until, now)
            committed.not_sent_later += later
            committed.not_sent_later_by[categories[guid]] += later
        states.flush(now)
        committed.next_due = batch.next_wake_at(now)
        return committed

    async def _committed(self, committed: _Committed) -> None:
        """After a batch's commit: log what it suppressed and its back-off transitions, tell
        the observers."""
        for delivery, status in committed.not_sent:
            log.info("delivery.not_sent", webhook_guid=delivery.webhook_guid,
                     subscription=delivery.subscription_guid, status=status)
        if committed.not_sent_later:
            log.info("delivery.not_sent_in_pause", deliveries=committed.not_sent_later)
        if self._on_status is not None:
            for delivery, _ in committed.not_sent:
                self._on_status(delivery.category, DeliveryStatus.NOT_SENT, 1)
            for category, count in committed.not_sent_later_by.items():
                self._on_status(category, DeliveryStatus.NOT_SENT, count)
        for record, transition in committed.transitions:
            log.info(f"backoff.{transition.kind.value.lower()}", subscription=record.guid,
                     at=transition.at, errors_in_window=transition.errors_in_window,
                     pauses_in_window=transition.pauses_in_window, reason=transition.reason)
            await tell(self._on_transition, record, [transition])
        if committed.transitions:
            self._on_committed()

    async def _send_forever(self) -> None:
        """One of the pool's senders: each claimed delivery in turn."""
        while True:
            delivery = await self._queue.get()
            self._sending += 1
            try:
                await self._attempt(delivery)
            except asyncio.CancelledError:   # stop(): no result will come
                self._free_slots(1)
                raise
            except Exception:
                # Not recorded: still PENDING with a lease, so it is sent again after the lease.
                log.exception("dispatcher.attempt_failed", webhook_guid=delivery.webhook_guid)
                self._free_slots(1)
            finally:
                self._sending -= 1

    def _free_slots(self, attempts: int) -> None:
        """Attempts that hold no slot any more: recorded, or never to be."""
        self._unrecorded -= attempts
        self._clock.release(attempts)
        if self._unrecorded == 0:
            self._all_recorded.set()

    async def _attempt(self, delivery: DeliveryRecord) -> None:
        number = delivery.attempts + 1
        with self._clock.flight():
            started = self._clock.now()
            response = await self._sender.send(
                delivery.url, delivery.body, request_headers(delivery, number, self._settings))
        if self._on_attempt is not None:
            self._on_attempt(delivery, number, response)
        self._results.append(_Result(delivery, number, started, self._clock.now(), response))
        self._results_ready.set()

    def _ensure_recorder(self) -> None:
        """Start the recorder and the senders (again, after :meth:`stop`)."""
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.create_task(self._record_forever())   # held per result
        self._senders = [task for task in self._senders if not task.done()]
        while len(self._senders) < max(1, self._settings.concurrency):
            self._senders.append(asyncio.create_task(self._send_forever()))

    async def _record_forever(self) -> None:
        while True:
            await self._results_ready.wait()
            self._results_ready.clear()
            while self._results:
                await self._gather()
                batch, self._results = self._results[:_RECORD_BATCH], self._results[_RECORD_BATCH:]
                try:
                    await self._record(batch)
                except Exception:
                    # Not recorded means still PENDING with a lease: it is sent again later.
                    log.exception("dispatcher.record_failed", attempts=len(batch))
                    self._wake.set()
                self._free_slots(len(batch))

    async def _gather(self) -> None:
        """Let results gather up to half the slots while attempts are in flight, for
        :data:`_GATHER_WALL` at most."""
        target = min(_RECORD_BATCH, max(1, self._settings.concurrency // 2))
        if len(self._results) >= target or self._unrecorded <= len(self._results):
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_GATHER_WALL):
                while len(self._results) < target and self._unrecorded > len(self._results):
                    self._results_ready.clear()
                    await self._results_ready.wait()

    async def _record(self, batch: list[_Result]) -> None:
        batch.sort(key=lambda r: r.finished_at)
        committed = await self._claiming(self._clock.now(), results=batch, claim=self._refill)
        if committed.next_due != self._next_due:
            # A retry or a pause may now be the next thing due: the loop sleeps until then.
            self._next_due = committed.next_due
            self._wake.set()
        self._log_recorded(batch, committed.statuses)
        if self._on_status is not None:
            for result, status in zip(batch, committed.statuses):
                self._on_status(result.delivery.category, status, 1)
        await self._committed(committed)

    def _record_results(self, batch: DispatchBatch, results: list[_Result],
                        states: _BackoffStates, committed: _Committed) -> None:
        """The recording part of a batch (:meth:`_claim`, which has locked the subscriptions):
        each attempt, its delivery's next status (:func:`decide`), its subscription's back-off
        (:func:`observe`)."""
        recorded = []
        for result in results:
            delivery, outcome, at = result.delivery, result.response.outcome, result.finished_at
            schedule = self._schedules.get(delivery.category)
            if schedule is None:
                schedule = self._schedules[delivery.category] = schedule_for(delivery.category,
                                                                             self._settings)
            decision = decide(outcome, result.number, schedule)
            status = status_after(decision)
            committed.statuses.append(status)
            recorded.append((delivery.id, AttemptRecord(
                series=delivery.series, number=result.number, started_at=result.started_at,
                outcome=outcome.kind.value, status_code=outcome.status,
                latency_ms=outcome.latency_ms, detail=outcome.detail,
                response_excerpt=result.response.excerpt),
                status, at + decision.delay if isinstance(decision, RetryAfter) else None, at))
            state = states.get(delivery.subscription_guid)
            if state is not None:
                states.put(delivery.subscription_guid,
                           *observe(state, self._rules, at, outcome.is_error))
        batch.record_attempts(recorded)

    @staticmethod
    def _log_recorded(results: list[_Result], statuses: list[str]) -> None:
        """One info line per committed batch; a line per attempt at debug; one per delivery
        that failed for good (a state change an operator looks for)."""
        # Asked once per batch, so the per-attempt lines cost nothing at the default level.
        debug = log.is_enabled_for(logging.DEBUG)
        for result, status in zip(results, statuses):
            if debug:
                outcome = result.response.outcome
                log.debug("delivery.attempt", webhook_guid=result.delivery.webhook_guid,
                          attempt=result.number, outcome=outcome.label,
                          latency_ms=round(outcome.latency_ms, 1), status=status)
            if status == DeliveryStatus.FAILURE:
                outcome = result.response.outcome
                log.info("delivery.failed", webhook_guid=result.delivery.webhook_guid,
                         subscription=result.delivery.subscription_guid, attempts=result.number,
                         outcome=outcome.label, detail=outcome.detail)
        counts = Counter(statuses)
        log.info("delivery.recorded", attempts=len(results),
                 success=counts[DeliveryStatus.SUCCESS], retrying=counts[DeliveryStatus.PENDING],
                 failed=counts[DeliveryStatus.FAILURE])

    async def drain(self) -> None:
        """Wait until every attempt started so far has finished and its result is committed."""
        self._ensure_recorder()
        await self._all_recorded.wait()

    async def _wait_for_work(self) -> None:
        """Sleep until the next thing is due (as the last claim saw it), a wake-up since that
        claim began, or the poll interval, whichever is first."""
        # Every slot taken: the recording batches claim what is due as they free slots.
        full = self._unrecorded >= self._settings.concurrency
        await self._clock.wait(self._wake, None if full else self._next_due,
                               poll=self._settings.poll_interval)

    async def run(self) -> None:
        """Deliver until cancelled. Storage trouble is logged and retried, never fatal."""
        while True:
            try:
                self.busy_since = time.monotonic()
                await self.step()
                self.busy_since = None
                await self._wait_for_work()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("dispatcher.loop_error")
                await asyncio.sleep(self._settings.poll_interval)

    async def start(self) -> None:
        self._refill = True
        released = await self._store.release_claims()
        if released:
            log.warning("dispatcher.recovered", in_flight_at_last_stop=released,
                        detail="attempts cut off by the last stop will be sent again")
        self._loop_task = self._clock.start_task(self.run())

    async def stop(self, timeout: float) -> None:
        """Stop claiming; give in-flight attempts ``timeout`` to finish and be recorded.

        Anything still in flight after that stays PENDING in the database (its lease lapses and
        it is sent again on the next start): at-least-once, never lost.
        """
        self._refill = False   # what is recorded from now on frees slots for nobody
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self.drain()
        for task in [*self._senders, self._recorder]:
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        # Claimed but never sent (the drain timed out): their leases lapse and they are sent
        # again, after a restart or by another dispatcher; nobody waits for their results.
        while not self._queue.empty():
            self._queue.get_nowait()
            self._free_slots(1)

    @property
    def running(self) -> bool:
        """Whether the delivery loop is running (started and neither stopped nor crashed)."""
        return self._loop_task is not None and not self._loop_task.done()

    @property
    def in_flight(self) -> int:
        """Attempts claimed and not yet answered (queued or being sent)."""
        return self._queue.qsize() + self._sending
