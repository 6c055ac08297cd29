"""Pure parts: parsing what people type, and the report's arithmetic."""

from __future__ import annotations

import pytest

from loadtest.report import peak_in_window, percentiles
from loadtest.scenario import (ScenarioError, clock_text, parse_duration, parse_fraction,
                               parse_rate)


@pytest.mark.parametrize(("text", "per_second"), [
    ("20/s", 20), ("600/min", 10), ("3600/h", 1), ("1.5/s", 1.5), (" 30 / m ", 0.5)])
def test_rates(text: str, per_second: float) -> None:
    assert parse_rate(text) == pytest.approx(per_second)


@pytest.mark.parametrize("text", ["abc", "20", "20/d", "/s", "0/s", "-1/s", ""])
def test_bad_rates_say_what_is_expected(text: str) -> None:
    with pytest.raises(ScenarioError, match="rate must"):
        parse_rate(text)


@pytest.mark.parametrize(("text", "seconds"), [
    ("15m", 900), ("90s", 90), ("1h30m", 5400), ("45", 45), ("500ms", 0.5), ("2min", 120)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "m", "15x", "0s", "1h-5m", "-5m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ScenarioError, match="duration must"):
        parse_duration(text)


def test_fractions() -> None:
    assert parse_fraction("0.15", "x") == 0.15
    assert parse_fraction("15%", "x") == pytest.approx(0.15)
    for bad in ("abc", "1.5", "-0.1", "150%"):
        with pytest.raises(ScenarioError):
            parse_fraction(bad, "--error-rate")


def test_clock_text() -> None:
    assert clock_text(462.9) == "00:07:42"
    assert clock_text(3725) == "01:02:05"


def test_peak_in_a_sliding_window_is_half_open() -> None:
    assert peak_in_window([], 300) == 0
    assert peak_in_window([0, 100, 299.9, 300, 301], 300) == 4   # 0 falls out at exactly 300
    assert peak_in_window([0, 300, 600], 300) == 1


def test_percentiles_nearest_rank() -> None:
    assert percentiles([]) == {"p50": None, "p95": None, "p99": None}
    values = list(range(1, 101))
    assert percentiles(values) == {"p50": 50, "p95": 95, "p99": 99}
