"""web.times: the one time grammar of every ``from``/``to`` and the one ISO-8601 formatter."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from web.times import bound, iso, iso_millis, iso_or_none, parse_time

DAY = datetime(2024, 3, 28, tzinfo=UTC).timestamp()
MARCH_28 = 1_711_638_661.05  # 2024-03-28T15:11:01.050Z


@pytest.mark.parametrize(("text", "end", "seconds"), [
    ("2024-03-28T15:11:01.050Z", False, DAY + 15 * 3600 + 11 * 60 + 1.05),
    ("2024-03-28T17:11:01.050+02:00", False, DAY + 15 * 3600 + 11 * 60 + 1.05),
    ("2024-03-28T15:11:01.050", False, DAY + 15 * 3600 + 11 * 60 + 1.05),   # no zone: UTC
    ("2024-03-28", False, DAY),                                              # a day's start
    ("2024-03-28", True, DAY + 86400),                                       # ...or its end
    ("2024-03-28T00:00:00Z", True, DAY),                                     # a time is itself
    ("1711638661.05", False, 1711638661.05),                                 # epoch seconds
    ("0", True, 0.0),
])
def test_the_grammar(text: str, end: bool, seconds: float) -> None:
    assert parse_time(text, end=end) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["yesterday", "2024-13-01", "-5", "1e9", "nan", "inf", "",
                                  "2024-03-28T25:00:00Z", "１２３"])
def test_anything_else_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse_time(text)


def test_the_last_day_as_an_upper_bound_is_a_value_error_not_an_overflow() -> None:
    assert parse_time("9999-12-31") > 0
    with pytest.raises(ValueError):
        parse_time("9999-12-31", end=True)


def test_one_format_rounded_to_the_millisecond() -> None:
    assert iso(DAY + 1.05) == "2024-03-28T00:00:01.050Z"
    assert iso(DAY + 1.0506) == "2024-03-28T00:00:01.051Z"   # rounded, not truncated
    assert iso(DAY + 59.9996) == "2024-03-28T00:01:00.000Z"  # carries into the next second
    assert iso_millis(round(DAY * 1000) + 7) == "2024-03-28T00:00:00.007Z"
    assert iso_or_none(None) is None and iso_or_none(0.0) == "1970-01-01T00:00:00.000Z"
    assert parse_time(iso(DAY + 1.05)) == pytest.approx(DAY + 1.05)


@pytest.mark.parametrize(
    ("t", "text"),
    [
        (MARCH_28, "2024-03-28T15:11:01.050Z"),
        (0.0, "1970-01-01T00:00:00.000Z"),
        (1_711_638_661, "2024-03-28T15:11:01.000Z"),
        (1_711_638_661.0004, "2024-03-28T15:11:01.000Z"),
        (1_711_638_661.0006, "2024-03-28T15:11:01.001Z"),
        (1_711_638_661.9996, "2024-03-28T15:11:02.000Z"),  # rounding carries into the second
    ],
)
def test_iso_is_utc_with_exactly_three_fraction_digits(t: float, text: str) -> None:
    assert iso(t) == text


@pytest.mark.parametrize(
    "text", ["2024-03-28T15:11:01.050Z", "1999-12-31T23:59:59.999Z", "2024-02-29T00:00:00.001Z"]
)
def test_parse_round_trips(text: str) -> None:
    assert iso(parse_time(text)) == text


@pytest.mark.parametrize("t", [MARCH_28 + 0.0004, MARCH_28 + 0.0006, MARCH_28 + 0.000999,
                               MARCH_28 - 0.0004, MARCH_28])
def test_a_shown_time_as_a_bound_finds_its_own_record(t: float) -> None:
    """from=<shown> keeps the record, to=<shown> leaves it out, whichever way it was rounded."""
    shown = iso(t)
    assert bound(shown) <= t < bound(shown, end=True) + 0.001
    assert not t < bound(shown, end=True)
    assert bound("1711638661.05") == 1711638661.05   # epoch seconds are exact
