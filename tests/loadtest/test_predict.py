"""predict: the rules as a discrete-event simulation, checked against what the rules imply."""

from __future__ import annotations


import pytest

from dispatcher.backoff import PRESETS
from dispatcher.loadtest.predict import Model, predict
from dispatcher.loadtest.scenario import Scenario

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
