"""The engine's unit of work: one transaction that records attempt results, ends pauses that ran
out and claims due deliveries, deciding with pure rules (:mod:`dispatcher.policy`,
:mod:`dispatcher.backoff`) on the rows it reads and writing what they decide.

:class:`DeliveryWork` runs on the database thread inside :meth:`DeliveryStore.batch`; it calls
nothing on the event loop and nothing above the dispatcher (the owner's emails come from
:mod:`dispatcher.transitions`). What it decided comes back as a :class:`BatchOutcome`, which the
engine logs and hands to observers once the transaction has committed.

A new retry rule belongs in :mod:`dispatcher.policy`; a new back-off rule in
:mod:`dispatcher.backoff`; a new SQL statement in :class:`storage.deliveries.DispatchBatch`.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import structlog

from dispatcher.backoff import BackoffRules, BackoffState, Transition, advance, may_send, observe
from dispatcher.http import Response
from dispatcher.policy import (DeliveryStatus, RetryAfter, RetrySchedule, decide, schedule_for,
                               status_after)
from dispatcher.settings import DispatcherSettings
from dispatcher.transitions import Notify, record_transition
from storage.deliveries import AttemptRecord, DeliveryRecord, DispatchBatch
from storage.subscriptions import SubscriptionRecord

log = structlog.get_logger("hooksim.dispatcher")


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """One attempt's HTTP exchange, waiting to be recorded."""

    delivery: DeliveryRecord
    number: int
    started_at: float
    finished_at: float
    response: Response


@dataclass
class BatchOutcome:
    """What one unit of work decided, for logging and observers once it has committed."""

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
                 outcome: BatchOutcome):
        self._batch, self._rules, self._notify, self._outcome = batch, rules, notify, outcome
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
                self._states[guid] = (record, BackoffState.of(record))

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
            self._outcome.transitions.append((record, transition))

    def flush(self, at: float) -> None:
        for guid in self._changed:
            _, state = self._states[guid]
            self._batch.save_backoff(guid, state, at)


class DeliveryWork:
    """The unit of work of every claim and recording batch (see the module docstring)."""

    def __init__(self, settings: DispatcherSettings, rules: BackoffRules, notify: Notify | None,
                 lease_seconds: Callable[[], float]) -> None:
        self._settings = settings
        self._rules = rules
        self._notify = notify
        self._lease_seconds = lease_seconds
        self._schedules: dict[str, RetrySchedule] = {}   # schedule_for's, per category

    def __call__(self, batch: DispatchBatch, *, now: float, free: int,
                 results: list[AttemptResult] | None = None) -> BatchOutcome:
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
        committed = BatchOutcome()
        states = _BackoffStates(batch, self._rules, self._notify, committed)
        batch.lock_deliveries(r.delivery.id for r in results or ())
        ending = batch.paused_until_before(now, lock=False)
        claimed = batch.claim_due(now, free, now + self._lease_seconds()) if free > 0 else []
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

    def _record_results(self, batch: DispatchBatch, results: list[AttemptResult],
                        states: _BackoffStates, committed: BatchOutcome) -> None:
        """The recording part of a batch (:meth:`__call__`, which has locked the subscriptions):
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


def log_recorded(results: list[AttemptResult], statuses: list[str]) -> None:
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
