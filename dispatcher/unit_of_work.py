"""The engine's unit of work: one transaction that records attempt results, ends pauses that ran
out and claims due deliveries, deciding with pure rules (:mod:`dispatcher.policy`,
:mod:`dispatcher.backoff`) on the rows it reads and writing what they decide.

It is a strict sequence: read (and on PostgreSQL lock) everything the batch decides on
(:class:`BatchReads`), decide with pure functions only (:func:`decide_batch`, testable without a
database), write what was decided (:class:`BatchDecisions`).

:class:`DeliveryWork` runs on the database thread inside :meth:`DeliveryStore.batch`; it calls
nothing on the event loop and nothing above the dispatcher (the owner's emails come from
:mod:`dispatcher.transitions`). What it decided comes back as a :class:`BatchOutcome`, which the
engine logs and hands to observers once the transaction has committed.

A new retry rule belongs in :mod:`dispatcher.policy`; a new back-off rule in
:mod:`dispatcher.backoff`; a new SQL statement in :class:`storage.deliveries.DispatchTransaction`.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import structlog

from dispatcher.backoff import BackoffRules, BackoffState, Transition, advance, may_send, observe
from dispatcher.http import Response
from dispatcher.policy import (DeliveryStatus, RetryAfter, RetrySchedule, decide, schedule_for,
                               status_after)
from dispatcher.settings import DispatcherSettings
from dispatcher.transitions import Notify, record_transition
from storage.deliveries import AttemptRecord, DeliveryRecord, DispatchTransaction, RecordedAttempt
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


@dataclass(frozen=True)
class BatchReads:
    """Everything a unit of work decides on, read (and on PostgreSQL locked) up front."""

    results: Sequence[AttemptResult]            # attempts to record
    ending: Sequence[SubscriptionRecord]        # paused subscriptions whose pause has run out
    claimed: Sequence[DeliveryRecord]           # due deliveries just leased
    subscriptions: Mapping[str, SubscriptionRecord]   # of all three; a deleted one is absent


@dataclass
class BatchDecisions:
    """What :func:`decide_batch` decided: the writes of a unit of work, and what it tells."""

    attempts: list[RecordedAttempt] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)   # each recorded attempt's delivery status
    transitions: list[tuple[SubscriptionRecord, Transition]] = field(default_factory=list)
    states: dict[str, BackoffState] = field(default_factory=dict)   # the changed ones, to save
    to_send: list[DeliveryRecord] = field(default_factory=list)
    not_sent: list[tuple[DeliveryRecord, str]] = field(default_factory=list)
    # A paused subscription a claimed delivery was not sent for: when its pause ends, and the
    # delivery's category (its other deliveries due before then become NOT_SENT at once).
    pauses: dict[str, tuple[float, str]] = field(default_factory=dict)


def decide_batch(reads: BatchReads, rules: BackoffRules, schedule: Callable[[str], RetrySchedule],
                 now: float) -> BatchDecisions:
    """The pure middle of a unit of work: each result's next status (:func:`decide`) and its
    subscription's back-off (:func:`observe`), then the pauses that ran out (:func:`advance`;
    after recording, so an error then still counts as paused), then which claimed deliveries
    may be sent (:func:`may_send`). ``schedule`` gives a category's retry schedule."""
    decided = BatchDecisions()
    states = {guid: BackoffState.of(record) for guid, record in reads.subscriptions.items()}

    def put(guid: str, state: BackoffState, transitions: list[Transition]) -> None:
        old = states[guid]
        if not transitions and (state is old or state == old):   # `is`: the usual success
            return
        states[guid] = decided.states[guid] = state
        decided.transitions.extend((reads.subscriptions[guid], t) for t in transitions)

    for result in reads.results:
        delivery, outcome, at = result.delivery, result.response.outcome, result.finished_at
        decision = decide(outcome, result.number, schedule(delivery.category))
        status = status_after(decision)
        decided.statuses.append(status)
        decided.attempts.append((delivery.id, AttemptRecord(
            series=delivery.series, number=result.number, started_at=result.started_at,
            outcome=outcome.kind.value, status_code=outcome.status,
            latency_ms=outcome.latency_ms, detail=outcome.detail,
            response_excerpt=result.response.excerpt),
            status, at + decision.delay if isinstance(decision, RetryAfter) else None, at))
        if delivery.subscription_guid in states:
            guid = delivery.subscription_guid
            put(guid, *observe(states[guid], rules, at, outcome.is_error))
    for record in reads.ending:
        if record.guid in states:
            put(record.guid, *advance(states[record.guid], rules, now))
    for delivery in reads.claimed:
        state = states.get(delivery.subscription_guid)
        if state is not None and may_send(state, rules, now):
            decided.to_send.append(delivery)
            continue
        decided.not_sent.append((delivery, state.status.value if state else "DELETED"))
        if state is not None and state.paused_until is not None:
            decided.pauses[delivery.subscription_guid] = (state.paused_until, delivery.category)
    return decided


class DeliveryWork:
    """The unit of work of every claim and recording batch (see the module docstring)."""

    def __init__(self, settings: DispatcherSettings, rules: BackoffRules, notify: Notify | None,
                 lease_seconds: Callable[[], float]) -> None:
        self._settings = settings
        self._rules = rules
        self._notify = notify
        self._lease_seconds = lease_seconds
        self._schedules: dict[str, RetrySchedule] = {}   # schedule_for's, per category

    def __call__(self, tx: DispatchTransaction, *, now: float, free: int,
                 results: list[AttemptResult] | None = None) -> BatchOutcome:
        """One batch on the database thread: record ``results`` (a recording batch), end the
        pauses that ran out, lease due deliveries for the ``free`` slots; those whose
        subscription may not send now become NOT_SENT. Read, decide (:func:`decide_batch`,
        pure), write.

        On PostgreSQL locks are taken in one order by every batch, so two dispatchers'
        batches cannot deadlock: the recorded deliveries (id order), the claimed ones (SKIP
        LOCKED: never waits), then every subscription the batch may change, in one statement.
        Locking the results', the ending pauses' and the claimed deliveries' subscriptions
        statement by statement, or subscriptions before deliveries, let batches cross (one
        holding A and waiting for B, the other the reverse): deadlocks that, retried and
        retried under load, failed recordings, and attempts already sent were sent again
        after their lease.
        """
        reads = self._read(tx, now, free, results or ())
        decided = decide_batch(reads, self._rules, self._schedule, now)
        return self._write(tx, decided, now)

    def _schedule(self, category: str) -> RetrySchedule:
        schedule = self._schedules.get(category)
        if schedule is None:
            schedule = self._schedules[category] = schedule_for(category, self._settings)
        return schedule

    def _read(self, tx: DispatchTransaction, now: float, free: int,
              results: Sequence[AttemptResult]) -> BatchReads:
        """Lock and read everything the batch decides on, in the one order every batch takes."""
        tx.lock_deliveries(r.delivery.id for r in results)
        ending = tx.paused_until_before(now, lock=False)
        claimed = tx.claim_due(now, free, now + self._lease_seconds()) if free > 0 else []
        subscriptions = tx.subscriptions([*(r.delivery.subscription_guid for r in results),
                                          *(record.guid for record in ending),
                                          *(d.subscription_guid for d in claimed)])
        return BatchReads(results, ending, claimed, subscriptions)

    def _write(self, tx: DispatchTransaction, decided: BatchDecisions, now: float) -> BatchOutcome:
        """Write what :func:`decide_batch` decided, in the same transaction: transitions with
        the emails they cause, attempts, NOT_SENT deliveries (then the rest of each pause's),
        back-off states; and read when anything is next due once they are written."""
        committed = BatchOutcome(transitions=decided.transitions, to_send=decided.to_send,
                                 not_sent=decided.not_sent, statuses=decided.statuses)
        for record, transition in decided.transitions:
            record_transition(tx, record, transition, self._notify)
        if decided.attempts:
            tx.record_attempts(decided.attempts)
        for delivery, _ in decided.not_sent:
            tx.set_status(delivery.id, DeliveryStatus.NOT_SENT, None, now, series=delivery.series)
        for guid, (until, category) in decided.pauses.items():
            later = tx.not_sent_before(guid, until, now)
            committed.not_sent_later += later
            committed.not_sent_later_by[category] += later
        for guid, state in decided.states.items():
            tx.save_backoff(guid, state, now)
        committed.next_due = tx.next_wake_at(now)
        return committed


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
