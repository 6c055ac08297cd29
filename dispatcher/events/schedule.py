"""ordering_schedule: ``ordering_schedule_updated``, a restaurant published its online ordering
schedule (takeout and delivery hours per day, overrides for given business dates, how late the
last order may be placed).

Each restaurant has stable weekly hours derived from it (:func:`weekly_hours`, also what a snooze
"until the next opening" waits for); a publish changes what restaurants change: an hour here or
there, an override for a coming date, the last-order rule. Times are ``[hour, minute]`` arrays as
in Toast's example, or ``"HH:MM"`` text as its prose says: ``dispatcher.schedule_time_format``.
Toast does not send the webhook when only ``scheduledOrderMaxDays`` changes, so no update here
changes only that.
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from dispatcher.events import CategorySpec, EventError, Restaurant, World, check_guid

DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
BEHAVIORS = ("TAKE_OUT", "DELIVERY")
LAST_ORDER = ("UNTIL_CLOSING_TIME", "UNTIL_PREPTIME_CUTOFF")
_OVERRIDES = ("Holiday hours", "team party", "Private event", "Staff training", "Early close")
_TEXT_TIME = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")

Hours = dict[str, dict[str, tuple[tuple[int, int], tuple[int, int]]]]   # behaviour -> day -> (start, end)


def weekly_hours(restaurant: Restaurant) -> Hours:
    """The restaurant's usual online ordering hours (local time), the same on every call."""
    rng = random.Random(uuid.UUID(restaurant.guid).int ^ 0x686F757273)   # "hours"
    opens = rng.choice(((7, 0), (11, 0), (11, 30), (16, 0)))
    # Open at least 4 hours; (0, 0) is midnight, the end of the day, as in Toast's example.
    closes = rng.choice([c for c in ((15, 0), (21, 0), (22, 0), (0, 0)) if c == (0, 0) or c[0] >= opens[0] + 4])
    closed_day = rng.choice((None, "MONDAY", "TUESDAY"))
    hours: Hours = {}
    for behavior in BEHAVIORS:
        start = opens if behavior == "TAKE_OUT" else (max(opens[0], 11), 0)
        hours[behavior] = {day: (start, closes) for day in DAYS if day != closed_day}
    return hours


def next_opening(restaurant: Restaurant, at: float) -> float:
    """The next time (epoch seconds) takeout ordering opens after ``at``, in the restaurant's zone."""
    zone: Any = timezone.utc
    try:
        from zoneinfo import ZoneInfo
        zone = ZoneInfo(restaurant.timezone)
    except (ImportError, KeyError, ValueError, OSError):   # no tz database: UTC
        pass
    local = datetime.fromtimestamp(at, zone)
    hours = weekly_hours(restaurant)["TAKE_OUT"]
    for days_ahead in range(1, 8):   # Toast: "until the start of online ordering hours the next day"
        day = local.date() + timedelta(days=days_ahead)
        if DAYS[day.weekday()] in hours:
            hour, minute = hours[DAYS[day.weekday()]][0]
            return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).timestamp()
    raise AssertionError("every week has an opening day")


def _time(value: tuple[int, int], world: World) -> Any:
    if world.decisions.schedule_time_format == "text":
        return f"{value[0]:02d}:{value[1]:02d}"
    return [value[0], value[1]]


def _build(event_type: str, restaurant: Restaurant, rng: random.Random, at: float,
           world: World) -> dict[str, Any]:
    hours = weekly_hours(restaurant)
    # This publish's change (never scheduledOrderMaxDays alone: Toast sends nothing for that):
    # an open day's hours start up to an hour earlier or later for one behaviour.
    behavior = rng.choice(BEHAVIORS)
    day = rng.choice(sorted(hours[behavior], key=DAYS.index))
    (start, end) = hours[behavior][day]
    shift = rng.choice((-60, -30, 30, 60))
    moved = divmod(max(0, min(23 * 60, start[0] * 60 + start[1] + shift)), 60)
    if moved == start:   # at a bound of the day: move the other way
        moved = divmod(start[0] * 60 + start[1] - shift, 60)
    hours[behavior] = {**hours[behavior], day: (moved, end)}
    overrides = []
    for _ in range(rng.choice((0, 0, 1, 2))):
        date = datetime.fromtimestamp(at, timezone.utc).date() + timedelta(days=rng.randint(1, 60))
        start = rng.choice(((9, 0), (11, 0), (12, 0)))
        overrides.append({
            "description": rng.choice(_OVERRIDES),
            "diningOptionBehavior": rng.sample(BEHAVIORS, rng.randint(1, 2)),
            "businessDate": date.year * 10000 + date.month * 100 + date.day,
            "timeRanges": [{"start": _time(start, world), "end": _time((rng.choice((15, 17, 21)), 0), world)}],
        })
    return {"restaurantGuid": restaurant.guid, "orderingSchedule": {
        "servicePeriods": [
            {"diningOptionBehavior": b,
             "dayPeriods": [{"day": d, "timeRanges": [{"start": _time(s, world), "end": _time(e, world)}]}
                            for d, (s, e) in hours[b].items()]}
            for b in BEHAVIORS],
        "overrides": overrides,
        "scheduledOrderMaxDays": rng.choice((0, 1, 3, 7)),
        "lastOrderConfiguration": rng.choice(LAST_ORDER),
    }}


def _check_ranges(ranges: Any, where: str) -> None:
    if not isinstance(ranges, list):
        raise EventError(where, f"expected an array of {{start, end}}, got {ranges!r}")
    for index, span in enumerate(ranges):
        for key in ("start", "end"):
            value = span.get(key) if isinstance(span, Mapping) else None
            as_array = (isinstance(value, list) and len(value) == 2
                        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
                        and 0 <= value[0] <= 23 and 0 <= value[1] <= 59)
            if not as_array and not (isinstance(value, str) and _TEXT_TIME.fullmatch(value)):
                raise EventError(f"{where}[{index}].{key}",
                                 f"expected [hour, minute] or \"HH:MM\", got {value!r}")


def _validate(event_type: str, details: Mapping[str, Any]) -> None:
    check_guid(details, "restaurantGuid")
    schedule = details.get("orderingSchedule")
    if not isinstance(schedule, Mapping):
        raise EventError("details.orderingSchedule", f"expected a JSON object, got {schedule!r}")
    where = "details.orderingSchedule"
    periods = schedule.get("servicePeriods")
    if not isinstance(periods, list) or not all(isinstance(p, Mapping) for p in periods):
        raise EventError(f"{where}.servicePeriods", f"expected an array of objects, got {periods!r}")
    for i, period in enumerate(periods):
        if period.get("diningOptionBehavior") not in BEHAVIORS:
            raise EventError(f"{where}.servicePeriods[{i}].diningOptionBehavior",
                             f"expected one of {', '.join(BEHAVIORS)}, got {period.get('diningOptionBehavior')!r}")
        days = period.get("dayPeriods")
        if not isinstance(days, list) or not all(isinstance(d, Mapping) and d.get("day") in DAYS for d in days):
            raise EventError(f"{where}.servicePeriods[{i}].dayPeriods",
                             f"expected an array of {{day: MONDAY..SUNDAY, timeRanges}}, got {days!r}")
        for j, day in enumerate(days):
            _check_ranges(day.get("timeRanges"), f"{where}.servicePeriods[{i}].dayPeriods[{j}].timeRanges")
    overrides = schedule.get("overrides")
    if not isinstance(overrides, list) or not all(isinstance(o, Mapping) for o in overrides):
        raise EventError(f"{where}.overrides", f"expected an array of objects, got {overrides!r}")
    for i, override in enumerate(overrides):
        behaviors = override.get("diningOptionBehavior")
        if not isinstance(behaviors, list) or not set(behaviors) <= set(BEHAVIORS):
            raise EventError(f"{where}.overrides[{i}].diningOptionBehavior",
                             f"expected an array of TAKE_OUT/DELIVERY, got {behaviors!r}")
        date = override.get("businessDate")
        if isinstance(date, bool) or not isinstance(date, int) or not 19700101 <= date <= 99991231:
            raise EventError(f"{where}.overrides[{i}].businessDate", f"expected a yyyyMMdd integer, got {date!r}")
        _check_ranges(override.get("timeRanges"), f"{where}.overrides[{i}].timeRanges")
    days = schedule.get("scheduledOrderMaxDays")
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        raise EventError(f"{where}.scheduledOrderMaxDays", f"expected an integer >= 0, got {days!r}")
    if schedule.get("lastOrderConfiguration") not in LAST_ORDER:
        raise EventError(f"{where}.lastOrderConfiguration",
                         f"expected one of {', '.join(LAST_ORDER)}, got {schedule.get('lastOrderConfiguration')!r}")


SPEC = CategorySpec(name="ordering_schedule", event_types=("ordering_schedule_updated",),
                    restaurant_scoped=True, build=_build, validate=_validate)
