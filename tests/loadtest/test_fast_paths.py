"""The shortcuts predict's speed rests on give what the plain definitions give."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from dispatcher.backoff import (PRESETS, BackoffState, SubscriptionStatus, _recent, advance,
                                may_send, observe)
from loadtest.predict import _Answer, pause_over
from loadtest.report import (fold_minutes, minute_counts, minute_index, minutes_run,
                             percentiles, percentiles_of_counts)
from dispatcher.policy import Outcome, OutcomeKind, RetrySchedule, decide, status_after

RULES = PRESETS["current"]
times = st.floats(min_value=0, max_value=5000, allow_nan=False)


@given(st.lists(times, max_size=60), times, st.floats(min_value=0.001, max_value=1000),
       st.integers(min_value=1, max_value=60))
def test_recent_is_the_newest_keep_inside_the_window(raw: list[float], now: float, window: float,
                                                     keep: int) -> None:
    ordered = tuple(sorted(raw))
    inside = [t for t in ordered if now - t < window]   # the definition, as it was written first
    assert _recent(ordered, now, window, keep) == tuple(inside[-keep:])


def _states() -> st.SearchStrategy[BackoffState]:
    errors = st.lists(times, max_size=60).map(lambda ts: tuple(sorted(ts)))
    pauses = st.lists(times, max_size=9).map(lambda ts: tuple(sorted(ts)))
    active = st.builds(BackoffState, st.just(SubscriptionStatus.ACTIVE), errors, pauses)
    stopped = st.builds(BackoffState, st.just(SubscriptionStatus.STOPPED), errors, pauses)
    paused = st.builds(BackoffState, st.just(SubscriptionStatus.PAUSED), errors, pauses, times)
    return st.one_of(active, stopped, paused)


@given(_states(), times, st.booleans())
def test_skipping_advance_when_no_pause_ran_out_changes_nothing(state: BackoffState, now: float,
                                                                error: bool) -> None:
    advanced, transitions = advance(state, RULES, now)
    if pause_over(state, now):
        return
    assert transitions == [] and advanced.status is state.status
    assert may_send(state, RULES, now) is (state.status is SubscriptionStatus.ACTIVE)
    # observe() slides the windows itself: with or without the advance first, the same result.
    later = now + 1
    assert observe(advanced, RULES, later, error) == observe(state, RULES, later, error)


def test_the_decision_table_is_what_decide_says() -> None:
    schedule = RetrySchedule((300.0, 600.0))
    for outcome in (Outcome(OutcomeKind.HTTP, 200), Outcome(OutcomeKind.HTTP, 500),
                    Outcome(OutcomeKind.HTTP, 400), Outcome(OutcomeKind.TIMEOUT)):
        answer = _Answer(outcome, schedule)
        for number in range(1, schedule.max_attempts + 1):
            decision = decide(outcome, number, schedule)
            status, delay = answer.after[number]
            assert status is status_after(decision)
            assert delay == getattr(decision, "delay", None)
        assert answer.always_final_success is outcome.is_success


@given(st.lists(st.sampled_from([0.0, 12.5, 100.0, 300.0, 2000.0]), max_size=300))
def test_percentiles_of_counts_match_nearest_rank_on_the_list(values: list[float]) -> None:
    counts: dict[float, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    ordered = sorted(values)
    expected = {f"p{p}": (round(ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)], 3)
                          if ordered else None) for p in (50, 95, 99)}
    assert percentiles_of_counts(counts) == expected == percentiles(values)


@given(st.lists(times, max_size=100), st.floats(min_value=0.1, max_value=5000))
def test_minute_rows_fold_whatever_lies_past_the_end_into_the_last(starts: list[float],
                                                                   end: float) -> None:
    minutes = minutes_run(0.0, end)
    counts = minute_counts(0.0, max([end, *starts]))
    for at in starts:
        counts[minute_index(at, 0.0)] += 1
    rows = fold_minutes(counts, minutes)
    assert len(rows) == minutes and sum(rows) == len(starts)
    assert rows == [sum(1 for at in starts if min(minutes - 1, int(at // 60)) == m)
                    for m in range(minutes)]
