"""Back-off state machine: pause, stop, resume and restart, driven with explicit platform times."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatcher.backoff import (
    PRESETS,
    BackoffRules,
    BackoffState,
    NotStopped,
    SubscriptionStatus,
    Transition,
    TransitionKind,
    advance,
    counts,
    may_send,
    observe,
    restart,
    rules_from_settings,
)
from dispatcher.settings import BackoffSettings

CURRENT = PRESETS["current"]
LEGACY = PRESETS["legacy"]
ACTIVE, PAUSED, STOPPED = SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED, SubscriptionStatus.STOPPED


def errors(
    state: BackoffState, rules: BackoffRules, times: list[float]
) -> tuple[BackoffState, list[Transition]]:
    """Observe one error at each of ``times``."""
    transitions: list[Transition] = []
    for at in times:
        state, new = observe(state, rules, at, True)
        transitions += new
    return state, transitions


def pause_at(state: BackoffState, rules: BackoffRules, at: float) -> tuple[BackoffState, Transition]:
    """Fail at ``at`` until the subscription pauses or stops; return that transition."""
    for _ in range(rules.errors_to_pause):
        state, transitions = observe(state, rules, at, True)
        if transitions and transitions[-1].kind in (TransitionKind.PAUSED, TransitionKind.STOPPED):
            return state, transitions[-1]
    raise AssertionError(f"no pause at {at}")


# --- rules ----------------------------------------------------------------------------------


def test_presets() -> None:
    assert rules_from_settings(BackoffSettings()) == BackoffRules(50, 300.0, 60.0, 9, 600.0)
    assert rules_from_settings(BackoffSettings(preset="legacy")) == BackoffRules(3, 60.0, 60.0, 3, 200.0)


def test_non_zero_settings_override_the_preset() -> None:
    settings = BackoffSettings(preset="legacy", errors_to_pause=5, pause_window_seconds=900.0)
    assert rules_from_settings(settings) == BackoffRules(5, 60.0, 60.0, 3, 900.0)
    settings = BackoffSettings(error_window_seconds=10.0, pause_seconds=5.0, pauses_to_stop=2)
    assert rules_from_settings(settings) == BackoffRules(50, 10.0, 5.0, 2, 600.0)


def test_unknown_preset_and_bad_numbers_are_refused() -> None:
    with pytest.raises(ValueError, match="preset"):
        rules_from_settings(BackoffSettings(preset="future"))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        rules_from_settings(BackoffSettings(errors_to_pause=-1))
    with pytest.raises(ValueError):
        BackoffRules(50, 0.0, 60.0, 9, 600.0)


# --- pausing --------------------------------------------------------------------------------


def test_49th_error_does_not_pause_the_50th_does() -> None:
    state, transitions = errors(BackoffState(), CURRENT, [1000.0 + i for i in range(49)])
    assert (state.status, transitions) == (ACTIVE, [])
    assert may_send(state, CURRENT, 1049.0)

    state, transitions = observe(state, CURRENT, 1049.0, True)
    assert transitions == [Transition(TransitionKind.PAUSED, 1049.0, 50, 1, "50 errors in 5 min")]
    assert (state.status, state.paused_until) == (PAUSED, 1109.0)


def test_successes_do_not_clear_errors() -> None:
    state, _ = errors(BackoffState(), CURRENT, [0.0] * 49)
    state, _ = observe(state, CURRENT, 1.0, False)
    state, transitions = observe(state, CURRENT, 2.0, True)
    assert [t.kind for t in transitions] == [TransitionKind.PAUSED]


def test_an_error_leaves_the_window_exactly_when_the_window_has_elapsed() -> None:
    state, _ = errors(BackoffState(), CURRENT, [0.0] * 49)
    assert counts(state, CURRENT, 299.5) == (49, 0)
    assert counts(state, CURRENT, 300.0) == (0, 0)

    still_inside, transitions = observe(state, CURRENT, 299.5, True)
    assert still_inside.status is PAUSED
    fallen_out, transitions = observe(state, CURRENT, 300.0, True)
    assert (fallen_out.status, transitions, fallen_out.error_times) == (ACTIVE, [], (300.0,))


def test_legacy_preset_pauses_after_3_errors_in_a_minute() -> None:
    state, transitions = errors(BackoffState(), LEGACY, [0.0, 30.0, 59.5])
    assert transitions == [Transition(TransitionKind.PAUSED, 59.5, 3, 1, "3 errors in 1 min")]
    state, transitions = errors(BackoffState(), LEGACY, [0.0, 30.0, 60.0])
    assert (state.status, transitions) == (ACTIVE, [])


def test_overridden_rules_apply() -> None:
    rules = rules_from_settings(BackoffSettings(errors_to_pause=2, pause_seconds=5.0))
    state, transitions = errors(BackoffState(), rules, [0.0, 1.0])
    assert transitions[0].reason == "2 errors in 5 min"
    assert state.paused_until == 6.0


# --- while paused ---------------------------------------------------------------------------


def test_the_pause_lasts_exactly_its_length_then_resumes() -> None:
    state, _ = errors(BackoffState(), CURRENT, [100.0] * 50)
    assert not may_send(state, CURRENT, 159.999)
    assert advance(state, CURRENT, 159.999) == (state, [])

    assert may_send(state, CURRENT, 160.0)
    resumed, transitions = advance(state, CURRENT, 160.0)
    assert resumed.status is ACTIVE and resumed.paused_until is None
    assert transitions == [Transition(TransitionKind.RESUMED, 160.0, 50, 1, "pause of 1 min over")]


def test_resume_is_dated_when_the_pause_ended_not_when_noticed() -> None:
    state, _ = errors(BackoffState(), CURRENT, [100.0] * 50)
    _, transitions = advance(state, CURRENT, 250.0)
    assert [(t.kind, t.at) for t in transitions] == [(TransitionKind.RESUMED, 160.0)]


def test_errors_in_flight_while_paused_count_but_do_not_pause_again() -> None:
    state, _ = errors(BackoffState(), CURRENT, [100.0] * 50)
    paused, transitions = errors(state, CURRENT, [100.0 + i / 10 for i in range(1, 500)])
    assert transitions == []
    assert (paused.status, paused.paused_until, paused.pause_times) == (PAUSED, 160.0, (100.0,))
    assert paused.error_times[-1] == pytest.approx(149.9)
    assert len(paused.error_times) == CURRENT.errors_to_pause


def test_observe_resumes_first_then_counts_the_outcome() -> None:
    """Errors survive the pause, so the first error after it pauses again (module docstring)."""
    state, _ = errors(BackoffState(), CURRENT, [100.0] * 50)
    succeeded, transitions = observe(state, CURRENT, 160.0, False)
    assert (succeeded.status, [t.kind for t in transitions]) == (ACTIVE, [TransitionKind.RESUMED])

    failed, transitions = observe(state, CURRENT, 160.0, True)
    assert [t.kind for t in transitions] == [TransitionKind.RESUMED, TransitionKind.PAUSED]
    assert (failed.paused_until, failed.pause_times) == (220.0, (100.0, 160.0))


# --- stopping -------------------------------------------------------------------------------


def test_9th_pause_within_10_minutes_stops() -> None:
    state = BackoffState()
    for i in range(8):
        state, transition = pause_at(state, CURRENT, 61.0 * i)
        assert transition.kind is TransitionKind.PAUSED
    state, transition = pause_at(state, CURRENT, 61.0 * 8)
    assert transition == Transition(TransitionKind.STOPPED, 488.0, 50, 9, "9 pauses in 10 min")
    assert (state.status, state.paused_until) == (STOPPED, None)
    assert advance(state, CURRENT, 10_000.0)[1] == []
    assert not may_send(state, CURRENT, 488.0 + 86_400.0)


@pytest.mark.parametrize(("spacing", "stops"), [(82.5, False), (75.0, False), (74.9, True)])
def test_pause_window_boundary(spacing: float, stops: bool) -> None:
    """9 pauses over 11 min (82.5 s apart) or exactly 10 min (75 s) do not stop; just under does."""
    state = BackoffState()
    for i in range(9):
        state, transition = pause_at(state, CURRENT, spacing * i)
    assert (state.status is STOPPED) is stops
    assert transition.pauses_in_window == (9 if stops else 8)


def test_legacy_preset_stops_after_3_pauses_in_200_seconds() -> None:
    state = BackoffState()
    kinds = []
    for at in (0.0, 61.0, 122.0):
        state, transition = pause_at(state, LEGACY, at)
        kinds.append(transition.kind)
    assert kinds == [TransitionKind.PAUSED, TransitionKind.PAUSED, TransitionKind.STOPPED]
    assert transition.reason == "3 pauses in 3 min 20 s"


def stopped_state(rules: BackoffRules = CURRENT) -> BackoffState:
    """Pause every 61 s until the subscription stops."""
    state = BackoffState()
    for i in range(rules.pauses_to_stop):
        state, _ = pause_at(state, rules, 61.0 * i)
    assert state.status is STOPPED
    return state


def test_errors_while_stopped_change_nothing() -> None:
    stopped, transitions = errors(stopped_state(LEGACY), LEGACY, [130.0, 400.0, 10_000.0])
    assert (stopped.status, transitions) == (STOPPED, [])


# --- restart --------------------------------------------------------------------------------


def test_restart_clears_pauses_and_errors() -> None:
    state, transitions = restart(stopped_state(), 500.0)
    assert state == BackoffState()
    assert transitions == [Transition(TransitionKind.RESTARTED, 500.0, 0, 0, "restarted by the operator")]

    state, transitions = errors(state, CURRENT, [501.0] * 49)
    assert transitions == []
    state, transition = pause_at(state, CURRENT, 502.0)
    assert (transition.kind, transition.pauses_in_window) == (TransitionKind.PAUSED, 1)


@pytest.mark.parametrize("state", [BackoffState(), BackoffState(PAUSED, (1.0,), (1.0,), 61.0)])
def test_restart_of_a_subscription_not_stopped_is_refused(state: BackoffState) -> None:
    with pytest.raises(NotStopped):
        restart(state, 5.0)
    assert issubclass(NotStopped, ValueError)


# --- persistence and bookkeeping ------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [BackoffState, lambda: BackoffState(PAUSED, (1.5, 2.25), (2.25,), 62.25), stopped_state],
    ids=["active", "paused", "stopped"],
)
def test_a_state_is_its_own_stored_columns(make: Callable[[], BackoffState]) -> None:
    # What storage.subscriptions writes (BackoffColumns) is read back as the same state; the
    # round trip through a real database is tests/storage/test_subscriptions.py.
    state = make()
    assert BackoffState.of(state) == state


def test_stored_times_are_read_sorted_as_floats() -> None:
    stored = SimpleNamespace(status="PAUSED", error_times=[3, 1.5], pause_times=[2], paused_until=62)
    assert BackoffState.of(stored) == BackoffState(PAUSED, (1.5, 3.0), (2.0,), 62.0)


@pytest.mark.parametrize(("status", "paused_until"), [(PAUSED, None), (ACTIVE, 60.0), (STOPPED, 60.0)])
def test_paused_until_is_set_exactly_while_paused(
    status: SubscriptionStatus, paused_until: float | None
) -> None:
    with pytest.raises(ValueError):
        BackoffState(status, paused_until=paused_until)


def test_counts_saturate_at_the_thresholds() -> None:
    state, _ = errors(BackoffState(), CURRENT, [0.0] * 80)
    assert counts(state, CURRENT, 1.0) == (50, 1)


def test_out_of_order_times_are_kept_sorted() -> None:
    state, _ = errors(BackoffState(), CURRENT, [10.0, 5.0, 7.0])
    assert state.error_times == (5.0, 7.0, 10.0)


# --- scenario -------------------------------------------------------------------------------


def test_dead_endpoint_at_20_attempts_per_second() -> None:
    """A 100 %-failing endpoint tried 20 times a second whenever sending is allowed.

    From the current rules: the 50th error (t = 49/20 = 2.45 s) pauses; each pause ends 60 s
    later and its first error pauses again while that first burst is in the 5-minute window:
    pauses 2..5 at 62.45, 122.45, 182.45, 242.45. At 302.45 the burst has left the window (its
    last error is exactly 300 s old, so out), leaving 5 errors; 45 more at 20/s pause at 304.7.
    From then on the resume errors plus the 46 errors of 302.45..304.7 again make 50: pauses 7
    and 8 at 364.7 and 424.7, and the 9th, at 484.7, within 10 minutes of the first: STOPPED.
    Attempts: 50 + 4 + 46 + 3 = 103.
    """
    rules = CURRENT
    state, transitions, attempts, tick = BackoffState(), [], 0, 0
    while state.status is not STOPPED:
        now = tick / 20
        if may_send(state, rules, now):
            attempts += 1
            state, new = observe(state, rules, now, True)
            transitions += new
        tick += 1
        assert tick < 20 * 3600, "never stopped"

    stops = [t for t in transitions if t.kind is not TransitionKind.RESUMED]
    assert [t.at for t in stops] == pytest.approx(
        [2.45, 62.45, 122.45, 182.45, 242.45, 304.7, 364.7, 424.7, 484.7]
    )
    assert [t.kind for t in stops] == [TransitionKind.PAUSED] * 8 + [TransitionKind.STOPPED]
    assert attempts == 103


# --- properties -----------------------------------------------------------------------------

small_rules = st.builds(
    BackoffRules,
    errors_to_pause=st.integers(1, 5),
    error_window=st.integers(1, 100).map(float),
    pause_seconds=st.integers(0, 100).map(float),
    pauses_to_stop=st.integers(1, 4),
    pause_window=st.integers(1, 300).map(float),
)
# (seconds since the previous outcome, is_error): integer times keep window edges exact.
outcomes = st.lists(st.tuples(st.integers(0, 40), st.booleans()), max_size=200)


class Reference:
    """The spec's rules read literally: every time kept forever, counts recomputed each time."""

    def __init__(self, rules: BackoffRules) -> None:
        self.rules = rules
        self.errors: list[float] = []
        self.pauses: list[float] = []
        self.status, self.paused_until = ACTIVE, 0.0
        self.log: list[tuple[TransitionKind, float]] = []

    def observe(self, at: float, is_error: bool) -> None:
        if self.status is PAUSED and at >= self.paused_until:
            self.status = ACTIVE
            self.log.append((TransitionKind.RESUMED, self.paused_until))
        if not is_error:
            return
        self.errors.append(at)
        errors = self.inside(self.errors, at, self.rules.error_window)
        if self.status is ACTIVE and errors >= self.rules.errors_to_pause:
            self.pauses.append(at)
            if self.inside(self.pauses, at, self.rules.pause_window) >= self.rules.pauses_to_stop:
                self.status = STOPPED
                self.log.append((TransitionKind.STOPPED, at))
            else:
                self.status, self.paused_until = PAUSED, at + self.rules.pause_seconds
                self.log.append((TransitionKind.PAUSED, at))

    @staticmethod
    def inside(times: list[float], now: float, window: float) -> int:
        return sum(now - t < window for t in times)


@given(rules=small_rules, steps=outcomes)
def test_state_machine_matches_the_literal_rules_in_bounded_state(
    rules: BackoffRules, steps: list[tuple[int, bool]]
) -> None:
    state, reference, log, now = BackoffState(), Reference(rules), [], 0.0
    for gap, is_error in steps:
        now += gap
        state, transitions = observe(state, rules, now, is_error)
        reference.observe(now, is_error)
        log += [(t.kind, t.at) for t in transitions]
        assert len(state.error_times) <= rules.errors_to_pause
        assert len(state.pause_times) <= rules.pauses_to_stop
    assert log == reference.log
    assert state.status is reference.status

    pause_times = [at for kind, at in log if kind in (TransitionKind.PAUSED, TransitionKind.STOPPED)]
    if state.status is STOPPED:
        stop = pause_times[-1]
        assert sum(stop - t < rules.pause_window for t in pause_times) >= rules.pauses_to_stop
