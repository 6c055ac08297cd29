"""``hooksim predict``: the platform's retry and back-off rules as a discrete-event simulation.

No HTTP, no clock, no asyncio: platform times in order drive the same pure functions the engine
uses (:func:`dispatcher.backoff.observe`, :func:`~dispatcher.backoff.may_send`'s test,
:func:`~dispatcher.backoff.advance`, :func:`dispatcher.policy.decide`). The endpoint is a model:
each attempt takes ``latency`` platform seconds (a timeout if that reaches the read timeout) and
fails with probability ``error_rate``.

Several subscriptions each have their own back-off state, event stream and random failures, and
share the engine's concurrency: at most ``concurrency`` attempts are in flight in all; a delivery
due while all slots are busy waits (first come, first served) for the next one to free, and
may_send is checked when it starts. The real engine also spends time claiming and recording in
batches; at high ``--time-scale`` that overhead turns into platform seconds that this model does
not have, so ``load`` runs a little behind ``predict`` (see the README for the tolerance).

Hours of platform time at thousands of events a minute are simulated in a few seconds, so the
loop avoids what it does not need (see bench/README.md, "predict"): no object per event or
attempt, only counters; ``decide`` asked once per answer and attempt number (it depends on
nothing else); ``advance`` called only when a pause has run out (:func:`pause_over`).
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from dispatcher.backoff import (BackoffRules, BackoffState, SubscriptionStatus, Transition,
                               TransitionKind, advance, observe)
from dispatcher.policy import (DeliveryStatus, Outcome, OutcomeKind, RetryAfter, RetrySchedule,
                              decide, schedule_for, status_after)
from dispatcher.settings import DispatcherSettings
from loadtest.per_subscription import SubscriptionOutcome, with_subscriptions
from loadtest.report import (AttemptTally, Report, build_report, fold_minutes,
                             minute_counts, minutes_run, peak_in_window)
from loadtest.scenario import Scenario

_START = 0.0
# Queued at the same instant: a retry's start, then attempts finishing (they are in a deque of
# their own), then a pause's end; new events come after all three.
_DUE, _TICK = 0, 2
_ACTIVE = SubscriptionStatus.ACTIVE


@dataclass(frozen=True)
class Model:
    """The modelled endpoint and the platform's limits, in platform seconds."""

    error_rate: float = 0.0
    latency: float = 0.3
    error_status: int = 500
    timeout: float = 2.0
    concurrency: int = 64


@dataclass(frozen=True)
class Stream:
    """One subscription's events, one every ``1 / rate`` platform seconds from ``offset``."""

    seed: int | str
    offset: float = 0.0
    error_rate: float | None = None    # None: the model's


def subscription_seed(seed: int, index: int) -> int | str:
    """Subscription 0 plays ``seed`` itself, so a single subscription runs as it always did."""
    return seed if index == 0 else f"{seed}/{index}"


def streams_for(scenario: Scenario) -> list[Stream]:
    """The scenario's subscriptions, spread evenly over one event interval: together one even
    stream of ``subscriptions x rate`` events, not bursts of all of them at the same instant."""
    n = scenario.subscriptions
    return [Stream(subscription_seed(scenario.seed, s), s / (n * scenario.rate)) for s in range(n)]


def pause_over(state: BackoffState, now: float) -> bool:
    """Whether ``advance(state, rules, now)`` can change anything the simulation looks at.

    Without a pause that has run out, advance only slides the two windows, and :func:`observe`
    slides them again itself before it counts: skipping that call changes no decision.
    """
    return state.paused_until is not None and now >= state.paused_until


def predict(scenario: Scenario, model: Model, rules: BackoffRules,
            settings: DispatcherSettings | None = None,
            streams: Sequence[Stream] | None = None) -> Report:
    """The report ``load`` would give against an endpoint that behaves like ``model``.

    ``streams`` (default: :func:`streams_for`) replaces the scenario's subscriptions, e.g. to
    give one of them its own error rate.
    """
    sim = _Simulation(scenario, model, rules, settings or DispatcherSettings(),
                      streams_for(scenario) if streams is None else list(streams))
    end = sim.run()
    return sim.report(end)


class _Answer:
    """One of the model endpoint's answers, with what the rules make of it, worked out once."""

    __slots__ = ("outcome", "takes", "is_error", "after", "always_final_success")

    def __init__(self, outcome: Outcome, schedule: RetrySchedule) -> None:
        self.outcome = outcome
        self.takes = outcome.latency_ms / 1000
        self.is_error = outcome.is_error
        # decide() depends only on the outcome and the attempt number (1-based; 0 is unused).
        self.after: list[tuple[DeliveryStatus, float | None]] = [(DeliveryStatus.PENDING, None)]
        for number in range(1, schedule.max_attempts + 1):
            decision = decide(outcome, number, schedule)
            delay = decision.delay if isinstance(decision, RetryAfter) else None
            self.after.append((status_after(decision), delay))
        self.always_final_success = all(after == (DeliveryStatus.SUCCESS, None)
                                        for after in self.after[1:])


def _answers(model: Model, schedule: RetrySchedule) -> tuple[_Answer, _Answer]:
    """(when the draw passes, when it fails); a timeout either way when the endpoint is too slow."""
    if model.latency >= model.timeout:
        timeout = _Answer(Outcome(OutcomeKind.TIMEOUT, None, model.timeout * 1000), schedule)
        return timeout, timeout
    latency_ms = model.latency * 1000
    return (_Answer(Outcome(OutcomeKind.HTTP, 200, latency_ms), schedule),
            _Answer(Outcome(OutcomeKind.HTTP, model.error_status, latency_ms), schedule))


class _Simulation:
    """Subscriptions are indexes into the per-subscription lists below."""

    __slots__ = ("scenario", "rules", "streams", "answers", "error_rates", "draws", "concurrency",
                 "states", "sendable", "transitions", "made", "attempts", "successes", "errors",
                 "not_sent", "failed", "error_times", "errors_by_answer", "retries", "started",
                 "failing", "done", "queue", "order", "waiting", "stopped", "last_stop")

    def __init__(self, scenario: Scenario, model: Model, rules: BackoffRules,
                 settings: DispatcherSettings, streams: list[Stream]) -> None:
        offsets = [s.offset for s in streams]
        if not streams or offsets != sorted(offsets) or not 0 <= offsets[-1] < 1 / scenario.rate:
            raise ValueError("streams must be given in order of offset, each within one interval")
        self.scenario, self.rules, self.streams = scenario, rules, streams
        self.answers = _answers(model, schedule_for(scenario.category, settings))
        # Every attempt takes the same time, so attempts finish in the order they started.
        assert self.answers[0].takes == self.answers[1].takes
        too_slow = model.latency >= model.timeout   # every attempt times out: nothing to draw
        self.error_rates = [0.0 if too_slow else model.error_rate if s.error_rate is None
                            else s.error_rate for s in streams]
        self.draws = [random.Random(s.seed).random for s in streams]
        self.concurrency = model.concurrency
        n = len(streams)
        self.states = [BackoffState()] * n
        self.sendable = [True] * n                  # states[s].status is ACTIVE
        self.transitions: list[list[Transition]] = [[] for _ in range(n)]
        self.made = 0                               # events made, all subscriptions together
        self.attempts, self.successes, self.errors = [0] * n, [0] * n, [0] * n
        self.not_sent, self.failed = [0] * n, [0] * n
        self.error_times: list[list[float]] = [[] for _ in range(n)]   # attempt starts, in order
        self.errors_by_answer, self.retries = [0, 0], 0
        self.started = minute_counts(_START, _START + scenario.duration)   # attempts per minute
        self.failing = minute_counts(_START, _START + scenario.duration)   # errors per minute
        # Attempts in flight, (finish time, subscription, attempt number, answer), in finish order.
        self.done: deque[tuple[float, int, int, int]] = deque()
        # Retries due and pauses ending: (time, _DUE or _TICK, push order, subscription, number).
        self.queue: list[tuple[float, int, int, int, int]] = []
        self.order = itertools.count()
        self.waiting: deque[tuple[int, int]] = deque()   # (subscription, attempt number)
        self.stopped, self.last_stop = 0, _START

    def run(self) -> float:
        """Play until the duration is over or every subscription stopped; returns the end time."""
        end, rate = _START + self.scenario.duration, self.scenario.rate
        offsets = [s.offset for s in self.streams]
        subscriptions = range(len(offsets))
        done, queue, sendable = self.done, self.queue, self.sendable
        concurrency, attempt = self.concurrency, self.attempt
        for i in range(self.scenario.events):
            base = _START + i / rate
            for s in subscriptions:
                at = base + offsets[s]
                if at > end:
                    return self.last_stop if self.drain(end) else end
                # What is queued for ``at`` or before goes first.
                if (queue or (done and done[0][0] <= at)) and self.drain(at):
                    return self.last_stop
                self.made += 1
                if sendable[s] and len(done) < concurrency:
                    attempt(at, s, 1)
                else:
                    self.start(at, s, 1)
        return self.last_stop if self.drain(end) else end

    def drain(self, limit: float) -> bool:
        """Handle everything queued up to ``limit``, in order; True once all have stopped."""
        done, queue, waiting = self.done, self.queue, self.waiting
        successes, answers, everyone = self.successes, self.answers, len(self.streams)
        while True:
            if done:   # an attempt finishing goes first unless a retry or a pause's end is earlier
                finishing = done[0]
                head = queue[0] if queue else None
                if head is not None and (head[0] < finishing[0] or (
                        head[0] == finishing[0] and head[1] == _DUE)):
                    finishing = None
            elif queue:
                finishing, head = None, queue[0]
            else:
                return False
            if finishing is not None:
                if finishing[0] > limit:
                    return False
                done.popleft()
                at, s, number, answer = finishing
                if answers[answer].always_final_success and not waiting:
                    successes[s] += 1    # what finish() would do, without the calls
                    continue
                self.finish(at, s, number, answer)
            else:
                at, kind, _, s, number = head
                if at > limit:
                    return False
                heapq.heappop(queue)
                if kind == _DUE:
                    self.start(at, s, number)
                elif pause_over(self.states[s], at):
                    self.note(s, *advance(self.states[s], self.rules, at))
            if self.stopped == everyone:
                return True

    def start(self, at: float, s: int, number: int) -> None:
        """A delivery falls due: wait for a slot, not send it (paused or stopped), or send it."""
        if len(self.done) >= self.concurrency:
            self.waiting.append((s, number))
            return
        if not self.sendable[s]:
            state = self.states[s]
            if pause_over(state, at):   # may_send() is "advance(...) is ACTIVE"; keep its transitions
                self.note(s, *advance(state, self.rules, at))
            if not self.sendable[s]:
                self.not_sent[s] += 1
                return
        self.attempt(at, s, number)

    def attempt(self, at: float, s: int, number: int) -> None:
        rate = self.error_rates[s]
        answer = 1 if rate and self.draws[s]() < rate else 0
        self.attempts[s] += 1
        self.started[int(at // 60)] += 1
        if number > 1:
            self.retries += 1
        if self.answers[answer].is_error:
            self.errors[s] += 1
            self.errors_by_answer[answer] += 1
            self.error_times[s].append(at)
            self.failing[int(at // 60)] += 1
        self.done.append((at + self.answers[answer].takes, s, number, answer))

    def finish(self, at: float, s: int, number: int, answer: int) -> None:
        if self.answers[answer].is_error:   # a success only advances, which the next attempt does anyway
            self.note(s, *observe(self.states[s], self.rules, at, True))
        status, delay = self.answers[answer].after[number]
        if delay is not None:
            heapq.heappush(self.queue, (at + delay, _DUE, next(self.order), s, number + 1))
        elif status is DeliveryStatus.SUCCESS:
            self.successes[s] += 1
        elif status is DeliveryStatus.FAILURE:
            self.failed[s] += 1
        if self.waiting:
            self.start(at, *self.waiting.popleft())

    def note(self, s: int, state: BackoffState, transitions: list[Transition]) -> None:
        self.states[s] = state
        self.sendable[s] = state.status is _ACTIVE
        for t in transitions:
            self.transitions[s].append(t)
            if t.kind is TransitionKind.PAUSED:
                heapq.heappush(self.queue, (t.at + self.rules.pause_seconds, _TICK,
                                            next(self.order), s, 0))
            elif t.kind is TransitionKind.STOPPED:
                self.stopped += 1
                self.last_stop = max(self.last_stop, t.at)

    def report(self, end: float) -> Report:
        n, scenario, rules = len(self.streams), self.scenario, self.rules
        outcomes = [SubscriptionOutcome(
            index=s, seed=self.streams[s].seed,
            events=self.made // n + (s < self.made % n),   # made round robin in index order
            attempts=self.attempts[s], successes=self.successes[s], errors=self.errors[s],
            not_sent=self.not_sent[s], failed=self.failed[s],
            peak_errors_in_window=peak_in_window(self.error_times[s], rules.error_window),
            transitions=self.transitions[s]) for s in range(n)]
        minutes = minutes_run(_START, end)
        attempts = sum(self.attempts)
        kinds: dict[str, int] = {}
        for answer, errors in zip(self.answers, self.errors_by_answer):
            kinds[answer.outcome.label] = kinds.get(answer.outcome.label, 0) + errors
        tally = AttemptTally(
            attempts=attempts, errors=sum(self.errors), errors_by_kind=kinds, retries=self.retries,
            latency_ms={self.answers[0].outcome.latency_ms: attempts},   # the same for every one
            per_minute=list(zip(fold_minutes(self.started, minutes),
                                fold_minutes(self.failing, minutes))),
            peak_errors_in_window=max(o.peak_errors_in_window for o in outcomes))
        statuses = {DeliveryStatus.SUCCESS.value: sum(self.successes),
                    DeliveryStatus.FAILURE.value: sum(self.failed),
                    DeliveryStatus.NOT_SENT.value: sum(self.not_sent)}
        statuses[DeliveryStatus.PENDING.value] = self.made - sum(statuses.values())
        report = build_report(scenario, rules, start=_START, end=end, attempts=tally,
                              transitions=self.transitions[0] if n == 1 else [],
                              statuses=statuses, time_scale=None, url=None,
                              latency_is_platform=True)
        return report if n == 1 else with_subscriptions(report, outcomes, rules, _START, end)
