"""The one time grammar of query parameters and the one ISO-8601 formatter of answers.

Accepted (:func:`parse_time`), each as epoch seconds:

- a time with a zone: ``2024-03-28T15:11:01.050Z``, ``2024-03-28T17:11:01+02:00``;
- a time without a zone, read as UTC: ``2024-03-28T15:11:01``;
- a date, a whole UTC day: as a lower bound its start, as an upper bound (``end=True``) the start
  of the next day, so with an exclusive upper bound ``from=D&to=D`` is all of day D;
- epoch seconds: digits with an optional fraction (no sign, exponent, nan or inf).

Shown (:func:`iso`): UTC with exactly three fraction digits (rounded to the nearest millisecond)
and ``Z``: ``2024-03-28T15:11:01.050Z``.

As a ``from``/``to`` bound (:func:`bound`) an ISO text or a date compares with times *as shown*:
``from=T`` keeps what is shown at T or later, ``to=T`` what is shown before T, so a time copied
from an answer finds its own record. Epoch seconds are exact.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime, timedelta

_EPOCH_TEXT = re.compile(r"[0-9]{1,12}(\.[0-9]{1,9})?")   # as docs/openapi.yaml's Time
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: What :func:`parse_time` accepts, for error details.
GRAMMAR = ("an ISO-8601 time (2024-03-28T15:11:01Z; no zone is UTC), a date (2024-03-28, "
           "a whole UTC day) or epoch seconds")


def parse_time(text: str, *, end: bool = False) -> float:
    """Epoch seconds of ``text`` in the grammar above; ValueError otherwise. ``end``: a date
    means the end of its day (the start of the next)."""
    if _EPOCH_TEXT.fullmatch(text):
        return float(text)
    try:
        if _DATE.fullmatch(text):
            day = date.fromisoformat(text) + timedelta(days=1 if end else 0)
            return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
        moment = datetime.fromisoformat(text)
    except OverflowError:   # 9999-12-31 as an upper bound
        raise ValueError(f"{text!r} is out of range") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def bound(text: str, *, end: bool = False) -> float:
    """Epoch seconds of a ``from``/``to`` bound: :func:`parse_time`, less half a millisecond
    for a text in the shown form (a time rounds to the millisecond it is shown at)."""
    seconds = parse_time(text, end=end)
    return seconds if _EPOCH_TEXT.fullmatch(text) else seconds - _HALF_MILLI


_HALF_MILLI = 0.0005


def iso(t: float) -> str:
    """``2024-03-28T15:11:01.050Z``: UTC, exactly three fraction digits (rounded to the ms)."""
    return iso_millis(round(t * 1000))


def iso_or_none(t: float | None) -> str | None:
    """:func:`iso`, or None for no time (a field that has none yet)."""
    return None if t is None else iso(t)


def iso_millis(millis: int) -> str:
    """:func:`iso` of whole epoch milliseconds (what events carry)."""
    seconds, fraction = divmod(millis, 1000)
    return f"{_iso_second(seconds)}.{fraction:03d}Z"


@functools.lru_cache(maxsize=4096)
def _iso_second(seconds: int) -> str:
    """The date and time of one whole second: events made together share a few of them."""
    return f"{_EPOCH + timedelta(seconds=seconds):%Y-%m-%dT%H:%M:%S}"
