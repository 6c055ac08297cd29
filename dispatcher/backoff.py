"""Back-off: when a subscription is paused, stopped and resumed (spec section 6).

A pure state machine per subscription, driven with explicit platform times: the worker calls
:func:`observe` after every attempt, :func:`may_send` before every attempt and :func:`advance`
whenever it wants a pause that has run out to end. Every function returns a new state plus the
transitions that happened, which the worker logs and turns into notification emails.

Decisions beyond the spec:

* **Window boundary.** An event at time ``t`` is inside a window of length ``w`` at ``now`` while
  ``now - t < w``: it falls out exactly when ``w`` has elapsed.
* **Errors are not cleared by a pause, a resume or a success**; the windows only slide. So with a
  fully failing endpoint the first error after a resume pauses again at once, because the error
  window still holds ``errors_to_pause`` errors. That makes a dead endpoint reach the stop quickly,
  which is the point of the stop rule.
* **Errors while paused or stopped** (from attempts already in flight) are recorded in the window
  but never cause another pause or a stop.
* **State stays small.** Only the newest ``errors_to_pause`` error times and ``pauses_to_stop``
  pause times are kept: a threshold of ``n`` can only ever need the newest ``n`` events. As a
  consequence the counts reported (:func:`counts`, :class:`Transition`) saturate at those
  thresholds.
* **Times need not arrive in order** (concurrent attempts finish out of order); they are kept
  sorted, and an event later than ``now`` counts as inside the window.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING

from dispatcher.settings import BackoffSettings

if TYPE_CHECKING:
    from storage.subscriptions import BackoffColumns


class SubscriptionStatus(StrEnum):
    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    STOPPED = "STOPPED"


@dataclass(frozen=True)
class BackoffRules:
    """The six numbers of spec section 6 (windows and pause in platform seconds)."""

    errors_to_pause: int
    error_window: float
    pause_seconds: float
    pauses_to_stop: int
    pause_window: float

    def __post_init__(self) -> None:
        if self.errors_to_pause < 1 or self.pauses_to_stop < 1:
            raise ValueError(f"thresholds must be at least 1: {self}")
        if self.error_window <= 0 or self.pause_window <= 0 or self.pause_seconds < 0:
            raise ValueError(f"windows must be positive and the pause not negative: {self}")


PRESETS: dict[str, BackoffRules] = {
    "current": BackoffRules(50, 300.0, 60.0, 9, 600.0),
    "legacy": BackoffRules(3, 60.0, 60.0, 3, 200.0),
}


def rules_from_settings(settings: BackoffSettings) -> BackoffRules:
    """The preset's rules, with each non-zero number in ``settings`` overriding its counterpart."""
    try:
        preset = PRESETS[settings.preset]
    except KeyError:
        raise ValueError(f"unknown back-off preset {settings.preset!r}; known: {sorted(PRESETS)}") from None
    overrides = {
        "errors_to_pause": settings.errors_to_pause,
        "error_window": settings.error_window_seconds,
        "pause_seconds": settings.pause_seconds,
        "pauses_to_stop": settings.pauses_to_stop,
        "pause_window": settings.pause_window_seconds,
    }
    return replace(preset, **{name: value for name, value in overrides.items() if value})


class TransitionKind(StrEnum):
    PAUSED = "PAUSED"
    RESUMED = "RESUMED"
    STOPPED = "STOPPED"
    RESTARTED = "RESTARTED"


@dataclass(frozen=True)
class Transition:
    """A change of status, with the window counts at that moment and a human reason."""

    kind: TransitionKind
    at: float
    errors_in_window: int
    pauses_in_window: int
    reason: str


@dataclass(frozen=True)
class BackoffState:
    """One subscription's back-off state; ``paused_until`` is set exactly while PAUSED."""

    status: SubscriptionStatus = SubscriptionStatus.ACTIVE
    error_times: tuple[float, ...] = ()
    pause_times: tuple[float, ...] = ()
    paused_until: float | None = None

    def __post_init__(self) -> None:
        if (self.status is SubscriptionStatus.PAUSED) != (self.paused_until is not None):
            raise ValueError(f"paused_until must be set exactly while PAUSED: {self}")

    @classmethod
    def of(cls, stored: BackoffColumns) -> BackoffState:
        """The state a stored subscription holds (storage.subscriptions' columns)."""
        paused_until = stored.paused_until
        return cls(
            status=SubscriptionStatus(stored.status),
            error_times=tuple(sorted(float(t) for t in stored.error_times)),
            pause_times=tuple(sorted(float(t) for t in stored.pause_times)),
            paused_until=None if paused_until is None else float(paused_until),
        )


class NotStopped(ValueError):
    """Only a stopped subscription can be restarted."""


def observe(
    state: BackoffState, rules: BackoffRules, at: float, is_error: bool
) -> tuple[BackoffState, list[Transition]]:
    """Account for one attempt that ended at ``at``; an error may pause or stop the subscription."""
    state, transitions = advance(state, rules, at)
    if not is_error:
        return state, transitions
    state = replace(
        state, error_times=_record(state.error_times, at, rules.error_window, rules.errors_to_pause)
    )
    if state.status is SubscriptionStatus.ACTIVE and len(state.error_times) >= rules.errors_to_pause:
        state, transition = _pause(state, rules, at)
        transitions.append(transition)
    return state, transitions


def advance(state: BackoffState, rules: BackoffRules, now: float) -> tuple[BackoffState, list[Transition]]:
    """Bring ``state`` to ``now``: end a pause whose time is up and slide both windows.

    The RESUMED transition is dated when the pause ended, not when this was called.
    """
    transitions: list[Transition] = []
    if state.paused_until is not None and now >= state.paused_until:
        ended = state.paused_until
        state = replace(state, status=SubscriptionStatus.ACTIVE, paused_until=None)
        errors, pauses = counts(state, rules, ended)
        reason = f"pause of {_duration(rules.pause_seconds)} over"
        transitions.append(Transition(TransitionKind.RESUMED, ended, errors, pauses, reason))
    errors = _recent(state.error_times, now, rules.error_window, rules.errors_to_pause)
    pauses = _recent(state.pause_times, now, rules.pause_window, rules.pauses_to_stop)
    if errors is state.error_times and pauses is state.pause_times:
        return state, transitions   # nothing slid out of a window: the same state (the usual case)
    return replace(state, error_times=errors, pause_times=pauses), transitions


def may_send(state: BackoffState, rules: BackoffRules, now: float) -> bool:
    """Whether an attempt may go out at ``now``: only when the subscription is, by then, ACTIVE."""
    # advance only ever turns PAUSED into ACTIVE: an ACTIVE state needs no sliding (the usual case).
    return (state.status is SubscriptionStatus.ACTIVE
            or advance(state, rules, now)[0].status is SubscriptionStatus.ACTIVE)


def restart(state: BackoffState, at: float) -> tuple[BackoffState, list[Transition]]:
    """The operator's restart of a stopped subscription: a fresh start, all history forgotten."""
    if state.status is not SubscriptionStatus.STOPPED:
        raise NotStopped(f"only a stopped subscription can be restarted; this one is {state.status}")
    return BackoffState(), [Transition(TransitionKind.RESTARTED, at, 0, 0, "restarted by the operator")]


def counts(state: BackoffState, rules: BackoffRules, now: float) -> tuple[int, int]:
    """``(errors_in_window, pauses_in_window)`` at ``now``, saturating at the two thresholds."""
    return (
        len(_recent(state.error_times, now, rules.error_window, rules.errors_to_pause)),
        len(_recent(state.pause_times, now, rules.pause_window, rules.pauses_to_stop)),
    )


def _pause(state: BackoffState, rules: BackoffRules, at: float) -> tuple[BackoffState, Transition]:
    """Pause for ``pause_seconds``, or stop if this pause is one too many for the pause window."""
    pause_times = _record(state.pause_times, at, rules.pause_window, rules.pauses_to_stop)
    errors, pauses = len(state.error_times), len(pause_times)
    if pauses >= rules.pauses_to_stop:
        reason = f"{pauses} pauses in {_duration(rules.pause_window)}"
        stopped = replace(state, status=SubscriptionStatus.STOPPED, pause_times=pause_times)
        return stopped, Transition(TransitionKind.STOPPED, at, errors, pauses, reason)
    reason = f"{errors} errors in {_duration(rules.error_window)}"
    until = at + rules.pause_seconds
    paused = replace(state, status=SubscriptionStatus.PAUSED, pause_times=pause_times, paused_until=until)
    return paused, Transition(TransitionKind.PAUSED, at, errors, pauses, reason)


def _record(times: tuple[float, ...], at: float, window: float, keep: int) -> tuple[float, ...]:
    """``times`` with ``at`` added, pruned as of ``at``."""
    return _recent(tuple(sorted((*times, at))), at, window, keep)


def _recent(times: tuple[float, ...], now: float, window: float, keep: int) -> tuple[float, ...]:
    """The newest ``keep`` of the (sorted) ``times`` still inside ``window`` at ``now``."""
    first = 0
    for t in times:   # sorted, so the ones already outside come first: stop at the first inside
        if now - t < window:
            break
        first += 1
    first = max(first, len(times) - keep)
    return times[first:] if first else times


def _duration(seconds: float) -> str:
    """``300`` -> ``"5 min"``, ``200`` -> ``"3 min 20 s"``, ``30`` -> ``"30 s"``."""
    minutes, rest = divmod(seconds, 60)
    if not minutes:
        return f"{rest:g} s"
    if not rest:
        return f"{minutes:g} min"
    return f"{minutes:g} min {rest:g} s"
