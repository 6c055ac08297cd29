"""Fault decisions, pure: phase syntax, schedules on a fake clock, rates with a seeded RNG."""

from __future__ import annotations

import random

import pytest

from receiver.faults import Decision, FaultPlan, Phase, current_phase, decide, parse_phase
from receiver.settings import FaultSettings

RNG = random.Random(1)


@pytest.mark.parametrize(("text", "phase"), [
    ("500:120s", Phase("status", 500, 1.0, 120.0)),
    ("500:2m", Phase("status", 500, 1.0, 120.0)),
    ("hang:30s", Phase("hang", 0, 1.0, 30.0)),
    ("close:500ms", Phase("close", 0, 1.0, 0.5)),
    ("ok", Phase("ok")),
    ("429@0.25:1h", Phase("status", 429, 0.25, 3600.0)),
    (" HANG:15 ", Phase("hang", 0, 1.0, 15.0)),
])
def test_phase_syntax(text: str, phase: Phase) -> None:
    assert parse_phase(text) == phase


@pytest.mark.parametrize("text", ["", "boom", "500:", "500:2d", "99:1s", "150", "700", "500@2:1s",
                                  "500@x", "ok:-1s"])
def test_bad_phases_say_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match="phases\\[0\\]"):
        parse_phase(text)


def test_bad_settings_are_refused() -> None:
    for settings in (FaultSettings(failure_rate=1.5), FaultSettings(status=700),
                     FaultSettings(delay_ms=-1), FaultSettings(phases=("nope",))):
        with pytest.raises(ValueError):
            FaultPlan.create(settings, 0.0)


def test_schedule_plays_from_when_it_was_set() -> None:
    plan = FaultPlan.create(FaultSettings(phases=("500:2m", "hang:30s", "ok")), now=100.0)
    timeline = [(t, decide(plan, 100.0 + t, RNG)) for t in (0, 119.9, 120, 149.9, 150, 10_000)]
    assert [(t, d.action, d.status, d.phase) for t, d in timeline] == [
        (0, "status", 500, 0), (119.9, "status", 500, 0), (120, "hang", 0, 1),
        (149.9, "hang", 0, 1), (150, "ok", 0, 2), (10_000, "ok", 0, 2)]


def test_after_the_last_timed_phase_the_base_settings_apply() -> None:
    plan = FaultPlan.create(FaultSettings(status=503, phases=("close:10s",)), now=0.0)
    assert decide(plan, 5.0, RNG).action == "close"
    assert current_phase(plan, 10.0) is None
    assert decide(plan, 10.0, RNG) == Decision("status", 503)


def test_failure_rate_hits_about_that_share() -> None:
    plan = FaultPlan.create(FaultSettings(status=502, failure_rate=0.3), now=0.0)
    rng = random.Random(42)
    hits = sum(decide(plan, 0.0, rng).action == "status" for _ in range(2000))
    assert 520 <= hits <= 680


def test_phase_rate_and_delay() -> None:
    plan = FaultPlan.create(FaultSettings(delay_ms=250, phases=("500@0.5",)), now=0.0)
    decisions = [decide(plan, 1.0, random.Random(seed)) for seed in range(50)]
    assert {d.action for d in decisions} == {"ok", "status"}
    assert all(d.delay == 0.25 for d in decisions)


@pytest.mark.parametrize(("settings", "action", "status"), [
    (FaultSettings(), "ok", 0),
    (FaultSettings(status=404), "status", 404),  # a rate of 0 with a fault named: every request
    (FaultSettings(failure_rate=1.0), "status", 500),  # a bare rate answers 500
    (FaultSettings(status=500, hang=True), "hang", 0),
    (FaultSettings(hang=True, close_connection=True), "close", 0),
])
def test_base_faults(settings: FaultSettings, action: str, status: int) -> None:
    decision = decide(FaultPlan.create(settings, 0.0), 0.0, RNG)
    assert (decision.action, decision.status) == (action, status)


def test_descriptions_name_the_injected_response() -> None:
    assert Decision("ok").describe() is None
    assert Decision("status", 500, phase=0).describe() == "status 500, phase 1"
    assert Decision("hang", delay=0.1).describe() == "hang, delay 100ms"
    assert Decision("ok", delay=1.0).describe() == "delay 1000ms"
    assert str(parse_phase("500@0.5:2m")) == "500@0.5:120s"
