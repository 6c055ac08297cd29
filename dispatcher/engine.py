"""The delivery engine: claims due deliveries, gates them by back-off, sends, records.

It only executes decisions made by pure code (:mod:`dispatcher.policy`, :mod:`dispatcher.backoff`).
Time comes from the injected clock, so tests drive minutes of platform time with :meth:`step` and
a fake clock. Attempt results are recorded in batches: one transaction per batch carries the
attempts, the deliveries' new statuses, the subscriptions' back-off states, their transitions and
the notifications those transitions cause, so none of them can exist without the others.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from dispatcher.backoff import BackoffRules, BackoffState, Transition, advance, may_send, observe
from dispatcher.clock import Clock
from dispatcher.http import HttpSender, Response
from dispatcher.policy import DeliveryStatus, RetryAfter, decide, schedule_for, status_after
from dispatcher.settings import DispatcherSettings
from storage import NotFound
from storage.deliveries import AttemptRecord, DeliveryRecord, DeliveryStore, DispatchTransaction
from storage.subscriptions import SubscriptionRecord, TransitionRecord

log = structlog.get_logger("hooksim.dispatcher")

# Called inside the recording transaction for every back-off transition (e.g. to queue an email).
TransitionHook = Callable[[DispatchTransaction, SubscriptionRecord, Transition], Awaitable[None]]
# Called after every attempt's HTTP exchange, before it is recorded (e.g. live load-test counters).
AttemptHook = Callable[[DeliveryRecord, int, Response], None]

_RECORD_BATCH = 500


def request_headers(delivery: DeliveryRecord, attempt_number: int,
                    settings: DispatcherSettings) -> dict[str, str]:
    """The platform's headers (spec section 3); the signature was computed over these exact bytes."""
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Toast-Signature": delivery.signature,
        "Toast-Event-Type": delivery.event_type,
        "Toast-Event-Category": delivery.category,
        "Toast-Attempt-Number": str(attempt_number),
        "User-Agent": settings.user_agent,
    }
    if delivery.restaurant_guid is not None:
        headers["Toast-Restaurant-External-ID"] = delivery.restaurant_guid
    return headers


@dataclass(frozen=True)
class _Result:
    delivery: DeliveryRecord
    number: int
    started_at: float
    finished_at: float
    response: Response


class _BackoffStates:
    """Subscriptions' back-off states read once per transaction and written back at its end."""

    def __init__(self, tx: DispatchTransaction, rules: BackoffRules, hook: TransitionHook | None):
        self._tx, self._rules, self._hook = tx, rules, hook
        self._states: dict[str, tuple[SubscriptionRecord, BackoffState]] = {}
        self._changed: set[str] = set()
        self.transitions = 0   # how many transitions this transaction recorded

    async def get(self, guid: str) -> BackoffState | None:
        if guid not in self._states:
            try:
                record = await self._tx.subscription(guid)
            except NotFound:   # deleted while its delivery was in flight
                return None
            self._states[guid] = (record, BackoffState.from_json(dict(record.backoff)))
        return self._states[guid][1]

    async def put(self, guid: str, state: BackoffState, transitions: list[Transition]) -> None:
        record, _ = self._states[guid]
        self._states[guid] = (record, state)
        self._changed.add(guid)
        for transition in transitions:
            self.transitions += 1
            await self._tx.add_transition(TransitionRecord(
                guid, transition.kind.value, transition.at, transition.errors_in_window,
                transition.pauses_in_window, transition.reason))
            log.info(f"backoff.{transition.kind.value.lower()}", subscription=guid,
                     at=transition.at, errors_in_window=transition.errors_in_window,
                     pauses_in_window=transition.pauses_in_window, reason=transition.reason)
            if self._hook is not None:
                await self._hook(self._tx, record, transition)

    async def flush(self, at: float) -> None:
        for guid in self._changed:
            _, state = self._states[guid]
            await self._tx.save_backoff(guid, state.status.value, state.to_json(),
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
        on_transition: TransitionHook | None = None,
        on_committed: Callable[[], None] | None = None,
        time_scale: float = 1.0,
        on_attempt: AttemptHook | None = None,
    ) -> None:
        self._store = deliveries
        self._on_attempt = on_attempt
        self._sender = sender
        self._clock = clock
        self._settings = settings
        self._rules = rules
        self._on_transition = on_transition
        self._on_committed = on_committed or (lambda: None)
        self._time_scale = time_scale
        self._in_flight: set[asyncio.Task[None]] = set()
        self._unrecorded = 0             # attempts started whose result is not yet committed
        self._all_recorded = asyncio.Event()
        self._all_recorded.set()
        self._results: list[_Result] = []
        self._results_ready = asyncio.Event()
        self._wake = asyncio.Event()
        self._recorder: asyncio.Task[None] | None = None
        self._loop_task: asyncio.Task[None] | None = None

    @property
    def lease_seconds(self) -> float:
        """Platform seconds an attempt may be in flight before another worker may take it over."""
        wall = self._settings.connect_timeout + 2 * self._settings.read_timeout + 5.0
        return wall * self._time_scale

    def wake(self) -> None:
        """Something new is due (an event was created, a delivery replayed)."""
        self._wake.set()

    async def step(self) -> int:
        """One pass at the clock's current time: end pauses, claim due deliveries, send them.

        Returns how many attempts were started. They run in the background; :meth:`drain`
        waits for them and for their results to be recorded.
        """
        self._ensure_recorder()
        now = self._clock.now()
        free = self._settings.concurrency - len(self._in_flight)
        to_send: list[DeliveryRecord] = []
        async with self._store.transaction() as tx:
            states = _BackoffStates(tx, self._rules, self._on_transition)
            for record in await tx.paused_until_before(now):
                state = await states.get(record.guid)
                if state is not None:
                    await states.put(record.guid, *advance(state, self._rules, now))
            if free > 0:
                for delivery in await tx.claim_due(now, free, now + self.lease_seconds):
                    state = await states.get(delivery.subscription_guid)
                    if state is not None and may_send(state, self._rules, now):
                        to_send.append(delivery)
                    else:
                        await tx.set_status(delivery.id, DeliveryStatus.NOT_SENT, None, now,
                                            series=delivery.series)
                        log.info("delivery.not_sent", webhook_guid=delivery.webhook_guid,
                                 subscription=delivery.subscription_guid,
                                 status=state.status.value if state else "DELETED")
            await states.flush(now)
        if states.transitions:
            self._on_committed()
        for delivery in to_send:
            self._unrecorded += 1
            self._all_recorded.clear()
            task = asyncio.create_task(self._attempt(delivery))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        return len(to_send)

    async def _attempt(self, delivery: DeliveryRecord) -> None:
        number = delivery.attempts + 1
        started = self._clock.now()
        response = await self._sender.send(
            delivery.url, delivery.body, request_headers(delivery, number, self._settings))
        log.info("delivery.attempt", webhook_guid=delivery.webhook_guid, attempt=number,
                 outcome=response.outcome.label, latency_ms=round(response.outcome.latency_ms, 1))
        if self._on_attempt is not None:
            self._on_attempt(delivery, number, response)
        self._results.append(_Result(delivery, number, started, self._clock.now(), response))
        self._results_ready.set()

    def _ensure_recorder(self) -> None:
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.create_task(self._record_forever())

    async def _record_forever(self) -> None:
        while True:
            await self._results_ready.wait()
            self._results_ready.clear()
            while self._results:
                batch, self._results = self._results[:_RECORD_BATCH], self._results[_RECORD_BATCH:]
                try:
                    await self._record(batch)
                except Exception:
                    # Not recorded means still PENDING with a lease: it is sent again later.
                    log.exception("dispatcher.record_failed", attempts=len(batch))
                self._unrecorded -= len(batch)
                if self._unrecorded == 0:
                    self._all_recorded.set()
            self._wake.set()   # a retry or a pause may now be the next thing due

    async def _record(self, batch: list[_Result]) -> None:
        batch.sort(key=lambda r: r.finished_at)
        async with self._store.transaction() as tx:
            states = _BackoffStates(tx, self._rules, self._on_transition)
            for result in batch:
                await self._record_one(tx, states, result)
            await states.flush(batch[-1].finished_at)
        if states.transitions:
            self._on_committed()

    async def _record_one(self, tx: DispatchTransaction, states: _BackoffStates,
                          result: _Result) -> None:
        delivery, outcome = result.delivery, result.response.outcome
        await tx.add_attempt(delivery.id, AttemptRecord(
            series=delivery.series, number=result.number, started_at=result.started_at,
            outcome=outcome.kind.value, status_code=outcome.status,
            latency_ms=outcome.latency_ms, detail=outcome.detail,
            response_excerpt=result.response.excerpt))
        decision = decide(outcome, result.number, schedule_for(delivery.category, self._settings))
        next_at = result.finished_at + decision.delay if isinstance(decision, RetryAfter) else None
        await tx.set_status(delivery.id, status_after(decision), next_at, result.finished_at,
                            series=delivery.series)
        state = await states.get(delivery.subscription_guid)
        if state is not None:
            await states.put(delivery.subscription_guid,
                             *observe(state, self._rules, result.finished_at, outcome.is_error))

    async def drain(self) -> None:
        """Wait until every attempt started so far has finished and its result is committed."""
        self._ensure_recorder()
        await self._all_recorded.wait()

    async def _wait_for_work(self) -> None:
        """Sleep until the next thing is due, a wake-up, or the poll interval, whichever is first."""
        self._wake.clear()
        next_due = await self._store.next_due_at()
        wall = self._settings.poll_interval
        if next_due is not None:
            wall = min(wall, max(0.0, (next_due - self._clock.now()) / self._time_scale))
        if wall <= 0:
            await asyncio.sleep(0)
            return
        # asyncio.timeout, not wait_for: 3.11's wait_for can leave a cancelled caller hanging.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wall):
                await self._wake.wait()

    async def run(self) -> None:
        """Deliver until cancelled. Storage trouble is logged and retried, never fatal."""
        while True:
            try:
                await self.step()
                await self._wait_for_work()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("dispatcher.loop_error")
                await asyncio.sleep(self._settings.poll_interval)

    async def start(self) -> None:
        released = await self._store.release_claims()
        if released:
            log.warning("dispatcher.recovered", in_flight_at_last_stop=released,
                        detail="attempts cut off by the last stop will be sent again")
        self._loop_task = asyncio.create_task(self.run())

    async def stop(self, timeout: float) -> None:
        """Stop claiming; give in-flight attempts ``timeout`` to finish and be recorded.

        Anything still in flight after that stays PENDING in the database (its lease lapses and
        it is sent again on the next start): at-least-once, never lost.
        """
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self.drain()
        for task in [*self._in_flight, self._recorder]:
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)
