"""predict: the rules as a discrete-event simulation, checked against what the rules imply."""

from __future__ import annotations


import pytest

from dispatcher.backoff import PRESETS
from loadtest.predict import Model, predict
from loadtest.scenario import Scenario

RULES = PRESETS["current"]


def test_a_dead_endpoint_at_20_per_second_pauses_at_its_50th_error_and_stops_at_the_9th_pause() -> None:
    data = predict(Scenario(20, 900), Model(error_rate=1.0, latency=0.0), RULES).data
    # Event i is sent at i/20 s and fails at once: the 50th error (i = 49) is at 2.45 s.
    first = 49 / 20
    pauses = [p["at"] for p in data["pauses"]]
    assert pauses[0] == pytest.approx(first)
    assert data["pauses"][0]["errorsInWindow"] == 50
    # While the first 50 errors are in the 5-minute window, each resume's first error pauses again.
    assert pauses[:5] == pytest.approx([first + 60 * k for k in range(5)])
    # They leave the window at 302.45 s: 45 more errors (2.25 s) are needed, then 60 s per pause.
    assert pauses[5:] == pytest.approx([first + 300 + 2.25 - 0.05 + 60 * k for k in range(3)], abs=0.06)
    assert len(pauses) == 8 and data["pausesAtStop"] == 9
    assert data["stoppedAt"] == pytest.approx(pauses[-1] + 60, abs=0.06)
    assert data["verdict"] == "STOPPED at 00:08:04 platform time after 9 pauses"
    assert data["errorsByKind"] == {"500": data["errors"]}


def test_a_healthy_endpoint_never_pauses() -> None:
    data = predict(Scenario(10, 600), Model(error_rate=0.0, latency=0.05), RULES).data
    assert data["attempts"] == data["successes"] == data["events"] == 6000
    assert data["pauses"] == [] and data["stoppedAt"] is None
    assert data["verdict"] == "never paused; peak 0 errors in any 5-minute window (limit 50)"


def test_a_slow_endpoint_times_out_and_retries_follow_the_schedule() -> None:
    data = predict(Scenario(0.05, 1800), Model(error_rate=0.0, latency=5.0), RULES).data
    assert data["errorsByKind"] == {"timeout": data["errors"]}
    assert data["retries"] > 0 and data["failed"] > 0   # 3 attempts each (5 and 10 min apart)
    assert data["latencyMs"]["p50"] == 2000.0


def test_one_hour_at_600_per_minute_is_simulated_whole() -> None:
    # How fast this runs is a benchmark figure (bench/predict.py), not a unit-test assertion.
    data = predict(Scenario(10, 3600), Model(error_rate=0.01, latency=0.3), RULES).data
    assert data["events"] == 36000 and data["stoppedAt"] is None


# What the simulation gave before it counted instead of listing (one object per event and attempt,
# commit a4f8c03): the faster loop must play exactly the same single subscription.
@pytest.mark.parametrize(("scenario", "model", "preset", "expected"), [
    (Scenario(10, 3600), Model(error_rate=0.15), "current",
     {"events": 5459, "attempts": 659, "successes": 553, "errors": 106, "retries": 0,
      "notSent": 4855, "failed": 0, "pendingAtEnd": 52, "stoppedAt": 545.9,
      "peakErrorsInWindow": 56, "pauses": [36.4, 97.1, 157.4, 217.7, 278.1, 361.6, 425.1, 485.6],
      "timeline": [(364, 50), (7, 2)]}),
    (Scenario(100, 1800, category="restaurant_availability"),
     Model(error_rate=0.05, latency=1.5, concurrency=8), "current",
     {"events": 180000, "attempts": 4856, "successes": 4580, "errors": 276, "retries": 13,
      "notSent": 90145, "failed": 0, "pendingAtEnd": 85283, "stoppedAt": None,
      "peakErrorsInWindow": 54,
      "pauses": [139.53, 201.09, 264.14, 388.66, 513.21, 585.21, 732.22, 880.78, 943.8, 1080.36,
                 "..."], "timeline": [(320, 20), (320, 22)]}),
    (Scenario(5, 3600, preset="legacy", seed=7), Model(error_rate=0.5), "legacy",
     {"events": 614, "attempts": 14, "successes": 4, "errors": 10, "retries": 0, "notSent": 600,
      "failed": 0, "pendingAtEnd": 11, "stoppedAt": 122.7, "peakErrorsInWindow": 4,
      "pauses": [0.9, 61.9], "timeline": [(5, 3), (5, 4)]}),
])
def test_one_subscription_plays_as_it_always_did(scenario: Scenario, model: Model, preset: str,
                                                 expected: dict) -> None:
    data = predict(scenario, model, PRESETS[preset]).data
    for key in ("events", "attempts", "successes", "errors", "retries", "notSent", "failed",
                "pendingAtEnd", "stoppedAt", "peakErrorsInWindow"):
        assert data[key] == expected[key], key
    pauses = [p["at"] for p in data["pauses"]]
    listed = [at for at in expected["pauses"] if at != "..."]
    assert pauses[:len(listed)] == listed
    assert "..." in expected["pauses"] or len(pauses) == len(listed)
    assert [(m["attempts"], m["errors"]) for m in data["timeline"][:2]] == expected["timeline"]
    assert "subscriptions" not in data and "perSubscription" not in data   # the report as before
