"""predict --subscriptions: each subscription its own back-off and failures, one shared concurrency."""

from __future__ import annotations

from typing import Any

import pytest

from dispatcher.backoff import PRESETS
from loadtest.predict import Model, Stream, predict, streams_for, subscription_seed
from loadtest.scenario import Scenario, ScenarioError

RULES = PRESETS["current"]
PLENTY = 1_000_000    # a concurrency that never binds


def _transitions(data: dict[str, Any], subscription: int | None = None) -> dict[str, Any]:
    """One subscription's pauses and stop, from a report of one or of several subscriptions."""
    pauses = [{k: p[k] for k in ("at", "errorsInWindow", "pausesInWindow")} for p in data["pauses"]
              if subscription is None or p["subscription"] == subscription]
    if subscription is None:
        return {"pauses": pauses, "stoppedAt": data["stoppedAt"]}
    return {"pauses": pauses, "stoppedAt": data["perSubscription"][subscription]["stoppedAt"]}


def test_healthy_subscriptions_are_never_paused() -> None:
    data = predict(Scenario(1, 600, subscriptions=20), Model(latency=0.1), RULES).data
    assert data["subscriptions"] == 20
    assert data["events"] == data["attempts"] == data["successes"] == 20 * 600
    assert data["subscriptionsPaused"] == data["subscriptionsStopped"] == 0
    assert data["pauses"] == [] and data["stoppedAt"] is None and data["pausedPeriods"] == []
    assert [row["events"] for row in data["perSubscription"]] == [600] * 20
    assert data["verdict"] == ("none of 20 subscriptions paused; peak 0 errors in any 5-minute "
                               "window (limit 50)")


def test_each_subscription_pauses_and_stops_as_it_would_alone() -> None:
    scenario = Scenario(4, 1800, subscriptions=6, seed=11)
    model = Model(error_rate=0.35, latency=0.2, concurrency=PLENTY)
    together = predict(scenario, model, RULES).data
    assert together["subscriptionsPaused"] == 6   # the comparison below must be about something
    assert together["subscriptionsStopped"] >= 1
    for s, stream in enumerate(streams_for(scenario)):
        alone = predict(scenario, model, RULES, streams=[stream]).data
        assert _transitions(together, s) == _transitions(alone), s
        row = together["perSubscription"][s]
        if alone["stoppedAt"] is None:   # alone, a run ends at its stop; together it goes on
            for key in ("events", "attempts", "successes", "errors", "notSent", "failed",
                        "pendingAtEnd", "peakErrorsInWindow"):
                assert row[key] == alone[key], (s, key)


def test_subscriptions_draw_their_own_failures() -> None:
    scenario = Scenario(1, 600, subscriptions=4, seed=5)   # about 60 errors each, never paused
    data = predict(scenario, Model(error_rate=0.1, latency=0.2), RULES).data
    assert len({row["errors"] for row in data["perSubscription"]}) > 1
    assert [row["seed"] for row in data["perSubscription"]] == [5, "5/1", "5/2", "5/3"]
    assert subscription_seed(5, 0) == 5   # subscription 0 is the single-subscription run


def test_runs_are_reproducible_and_the_seed_matters() -> None:
    model = Model(error_rate=0.3, latency=0.2)
    first = predict(Scenario(4, 900, subscriptions=5, seed=1), model, RULES).data
    again = predict(Scenario(4, 900, subscriptions=5, seed=1), model, RULES).data
    other = predict(Scenario(4, 900, subscriptions=5, seed=2), model, RULES).data
    first.pop("startedAt"), again.pop("startedAt"), other.pop("startedAt")
    assert first == again
    assert first["perSubscription"] != other["perSubscription"]


def test_one_failing_subscription_does_not_pause_the_others() -> None:
    scenario = Scenario(20, 900, subscriptions=4)
    streams = [Stream(s.seed, s.offset, error_rate=1.0 if i == 2 else 0.0)
               for i, s in enumerate(streams_for(scenario))]
    data = predict(scenario, Model(latency=0.0), RULES, streams=streams).data
    rows = data["perSubscription"]
    assert rows[2]["stoppedAt"] is not None and rows[2]["pauses"] == 8
    assert all(rows[i]["pauses"] == 0 and rows[i]["errors"] == 0 for i in (0, 1, 3))
    assert rows[0]["successes"] == rows[0]["events"] == 20 * 900   # others run the whole time
    assert {p["subscription"] for p in data["pauses"]} == {2}
    assert data["subscriptionsStopped"] == 1 and data["firstStopped"] == 2
    assert data["worstSubscription"] == 2
    # Alone, a dead endpoint at 20/s stops at 00:08:04 (test_predict); one of four does too.
    assert data["verdict"] == ("STOPPED: 1 of 4 subscriptions stopped, the first at 00:08:04 "
                               "platform time after 9 pauses")
    assert data["ranFor"] == 900   # the others were still running


def test_the_run_ends_when_every_subscription_has_stopped() -> None:
    data = predict(Scenario(20, 3600, subscriptions=3), Model(error_rate=1.0, latency=0.0,
                                                              concurrency=PLENTY), RULES).data
    stops = [row["stoppedAt"] for row in data["perSubscription"]]
    assert None not in stops and data["subscriptionsStopped"] == 3
    assert data["ranFor"] == pytest.approx(max(stops), abs=0.001)
    assert data["stoppedAt"] == min(stops)
    assert len(data["pauses"]) == 3 * 8


def test_the_concurrency_limit_is_shared() -> None:
    # 3 subscriptions x 1/s, each attempt 0.5 s, one slot: 2 attempts a second at most in all.
    data = predict(Scenario(1, 300, subscriptions=3), Model(latency=0.5, concurrency=1), RULES).data
    assert data["attempts"] <= 300 / 0.5 + 1
    assert data["pendingAtEnd"] >= 3 * 300 - data["attempts"] - 1   # the rest waits for the slot
    # With a slot each (or more) nothing waits.
    free = predict(Scenario(1, 300, subscriptions=3), Model(latency=0.5, concurrency=3), RULES).data
    assert free["attempts"] == 900


def test_per_minute_timeline_and_totals_add_up() -> None:
    data = predict(Scenario(2, 600, subscriptions=7), Model(error_rate=0.2, latency=0.1), RULES).data
    rows = data["perSubscription"]
    for key in ("events", "attempts", "successes", "errors", "notSent", "failed", "pendingAtEnd"):
        assert sum(row[key] for row in rows) == data[key], key
    assert sum(m["attempts"] for m in data["timeline"]) == data["attempts"]
    assert sum(m["errors"] for m in data["timeline"]) == data["errors"]
    assert len(data["timeline"]) == 10


def test_subscriptions_must_be_at_least_one() -> None:
    with pytest.raises(ScenarioError, match="subscriptions must be 1 or more"):
        Scenario(1, 60, subscriptions=0)


def test_streams_out_of_order_are_refused() -> None:
    with pytest.raises(ValueError, match="in order of offset"):
        predict(Scenario(1, 60), Model(), RULES, streams=[Stream(0, 0.5), Stream(1, 0.1)])
    with pytest.raises(ValueError, match="within one interval"):
        predict(Scenario(1, 60), Model(), RULES, streams=[Stream(0, 1.0)])
