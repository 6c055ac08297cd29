"""``hooksim predict``: the platform's retry and back-off rules as a discrete-event simulation.

No HTTP, no clock, no asyncio: a priority queue of platform times drives the same pure functions
the engine uses (:func:`dispatcher.backoff.observe`, :func:`~dispatcher.backoff.may_send`'s test,
:func:`~dispatcher.backoff.advance`, :func:`dispatcher.policy.decide`). The endpoint is a model:
each attempt takes ``latency`` platform seconds (a timeout if that reaches the read timeout) and
fails with probability ``error_rate``.

The engine's concurrency is approximated: at most ``concurrency`` attempts are in flight; a
delivery due while all slots are busy waits (first come, first served) for the next one to free,
and may_send is checked when it starts. The real engine also spends time claiming and recording
in batches; at high ``--time-scale`` that overhead turns into platform seconds that this model
does not have, so ``load`` runs a little behind ``predict`` (see the README for the tolerance).
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import Counter, deque
from dataclasses import dataclass

from dispatcher.backoff import (BackoffRules, BackoffState, SubscriptionStatus, Transition, advance,
                               observe)
from dispatcher.loadtest.report import AttemptPoint, Report, build_report
from dispatcher.loadtest.scenario import Scenario
from dispatcher.policy import (DeliveryStatus, Outcome, OutcomeKind, RetryAfter, decide, schedule_for,
                              status_after)
from dispatcher.settings import DispatcherSettings

_START = 0.0
_DUE, _DONE, _TICK = 0, 1, 2    # finishing before starting at the same instant, like the engine


@dataclass(frozen=True)
class Model:
    """The modelled endpoint and the platform's limits, in platform seconds."""

    error_rate: float = 0.0
    latency: float = 0.3
    error_status: int = 500
    timeout: float = 2.0
    concurrency: int = 64


@dataclass
class _Delivery:
    attempts: int = 0
    status: DeliveryStatus = DeliveryStatus.PENDING
    outcome: Outcome | None = None     # of the attempt in flight


class _Simulation:
    def __init__(self, scenario: Scenario, model: Model, rules: BackoffRules,
                 settings: DispatcherSettings) -> None:
        self.scenario, self.model, self.rules = scenario, model, rules
        self.schedule = schedule_for(scenario.category, settings)
        self.rng = random.Random(scenario.seed)
        self.state = BackoffState()
        self.transitions: list[Transition] = []
        self.points: list[AttemptPoint] = []
        self.deliveries: list[_Delivery] = []
        self.queue: list[tuple[float, int, int, int]] = []
        self.order = itertools.count()
        self.waiting: deque[int] = deque()
        self.in_flight = 0

    def push(self, at: float, kind: int, delivery: int = -1) -> None:
        heapq.heappush(self.queue, (at, kind, next(self.order), delivery))

    def run(self) -> float:
        """Play until the duration is over or the subscription stops; returns the end time."""
        end, next_event, events = _START + self.scenario.duration, 0, self.scenario.events
        while True:
            event_at = _START + next_event / self.scenario.rate
            if next_event < events and (not self.queue or event_at < self.queue[0][0]):
                if event_at > end:
                    return end
                self.deliveries.append(_Delivery())
                self.due(event_at, next_event)   # straight in: no need to queue it first
                next_event += 1
            elif not self.queue or self.queue[0][0] > end:
                return end
            else:
                at, kind, _, delivery = heapq.heappop(self.queue)
                if kind == _DUE:
                    self.due(at, delivery)
                elif kind == _DONE:
                    self.done(at, delivery)
                else:
                    self.note(*advance(self.state, self.rules, at))
            if self.state.status is SubscriptionStatus.STOPPED:
                return max(t.at for t in self.transitions if t.kind == "STOPPED")

    def note(self, state: BackoffState, transitions: list[Transition]) -> None:
        self.state = state
        self.transitions.extend(transitions)
        for t in transitions:
            if t.kind == "PAUSED":
                self.push(t.at + self.rules.pause_seconds, _TICK)

    def due(self, at: float, delivery: int) -> None:
        if self.in_flight >= self.model.concurrency:
            self.waiting.append(delivery)
            return
        # may_send() is "advance(...) is ACTIVE"; advancing once also keeps its transitions.
        self.note(*advance(self.state, self.rules, at))
        record = self.deliveries[delivery]
        if self.state.status is not SubscriptionStatus.ACTIVE:
            record.status = DeliveryStatus.NOT_SENT
            return
        self.in_flight += 1
        record.attempts += 1
        record.outcome = outcome = self.outcome()
        self.points.append(AttemptPoint(at, outcome.label, outcome.is_success, outcome.latency_ms,
                                        record.attempts))
        self.push(at + outcome.latency_ms / 1000, _DONE, delivery)

    def done(self, at: float, delivery: int) -> None:
        self.in_flight -= 1
        record = self.deliveries[delivery]
        assert record.outcome is not None
        if record.outcome.is_error:   # a success only advances, which the next attempt does anyway
            self.note(*observe(self.state, self.rules, at, True))
        decision = decide(record.outcome, record.attempts, self.schedule)
        record.status = status_after(decision)
        if isinstance(decision, RetryAfter):
            self.push(at + decision.delay, _DUE, delivery)
        if self.waiting:
            self.due(at, self.waiting.popleft())

    def outcome(self) -> Outcome:
        """The model endpoint's answer: a timeout when it is slower than the platform waits."""
        if self.model.latency >= self.model.timeout:
            return Outcome(OutcomeKind.TIMEOUT, None, self.model.timeout * 1000)
        failed = self.rng.random() < self.model.error_rate
        return Outcome(OutcomeKind.HTTP, self.model.error_status if failed else 200,
                       self.model.latency * 1000)

    def statuses(self) -> dict[str, int]:
        return dict(Counter(d.status.value for d in self.deliveries))


def predict(scenario: Scenario, model: Model, rules: BackoffRules,
            settings: DispatcherSettings | None = None) -> Report:
    """The report ``load`` would give against an endpoint that behaves like ``model``."""
    sim = _Simulation(scenario, model, rules, settings or DispatcherSettings())
    end = sim.run()
    return build_report(scenario, rules, start=_START, end=end, attempts=sim.points,
                        transitions=sim.transitions, statuses=sim.statuses(), time_scale=None,
                        url=None, latency_is_platform=True)
