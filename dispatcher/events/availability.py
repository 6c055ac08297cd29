"""restaurant_availability (device health) and restaurant_availability_toggle (channel on/off).

Both categories share one details shape; each event type fixes status, reasonKey and the
default reason text, so the table below is the whole rule set.

A snooze (Toast: a third-party channel paused for 20 or 40 minutes, or until the next day's
online ordering hours, then resuming by itself) is a pair of toggle events: offline when it
starts, online when it ends (spec decision; the reason texts are settings). :func:`snooze_plan`
says when each happens; the dispatcher commits the second one due at its time.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from dispatcher.events import (
    CategorySpec, Decisions, EventError, Restaurant, World, check_enum, check_guid, check_string,
)

from .schedule import next_opening

# event type -> (status, reasonKey, reason)
_OUTCOMES = {
    "availability_online": ("ONLINE", "AVAILABILITY_ONLINE", "Restaurant is approving online orders"),
    "availability_offline": ("OFFLINE", "AVAILABILITY_OFFLINE", "Restaurant cannot accept online orders"),
    "toggle_availability_online": ("ONLINE", "TOGGLE_ENABLED", "User enabled integration"),
    "toggle_availability_offline": ("OFFLINE", "TOGGLE_DISABLED", "User disabled integration"),
}
_STATUSES = ("ONLINE", "OFFLINE")
_REASON_KEYS = ("AVAILABILITY_ONLINE", "AVAILABILITY_OFFLINE", "TOGGLE_ENABLED", "TOGGLE_DISABLED")


def _build(event_type: str, restaurant: Restaurant, rng: random.Random, at: float,
           world: World) -> dict[str, Any]:
    status, reason_key, reason = _OUTCOMES[event_type]
    return {"restaurantGuid": restaurant.guid, "status": status, "reasonKey": reason_key, "reason": reason}


def _validate(event_type: str, details: Mapping[str, Any]) -> None:
    status, reason_key, _ = _OUTCOMES[event_type]
    check_guid(details, "restaurantGuid")
    if check_enum(details, "status", _STATUSES) != status:
        raise EventError("details.status", f"{event_type} has status {status}, got {details['status']!r}")
    if check_enum(details, "reasonKey", _REASON_KEYS) != reason_key:
        raise EventError("details.reasonKey",
                         f"{event_type} has reasonKey {reason_key}, got {details['reasonKey']!r}")
    # The human text is free-form: Toast words it per scenario (e.g. snoozed channels).
    check_string(details, "reason")


def _spec(name: str, types: tuple[str, ...]) -> CategorySpec:
    return CategorySpec(name=name, event_types=types, restaurant_scoped=True,
                        build=_build, validate=_validate, retries="availability")


# How long a snooze lasts: minutes, or None for "until the start of the next day's ordering hours".
SNOOZES = {"20m": 20, "40m": 40, "next_opening": None}
TOGGLE_CATEGORY = "restaurant_availability_toggle"


def snooze_plan(kind: str, restaurant: Restaurant, at: float,
                decisions: Decisions) -> list[tuple[float, str, dict[str, Any]]]:
    """(when, event type, details to merge) of the two toggle events of a snooze starting at ``at``."""
    if not isinstance(kind, str) or kind not in SNOOZES:
        raise EventError("snooze", f"expected one of {', '.join(SNOOZES)}, got {kind!r}")
    minutes = SNOOZES[kind]
    ends = at + minutes * 60 if minutes is not None else next_opening(restaurant, at)
    return [(at, "toggle_availability_offline", {"reason": decisions.snooze_started_reason}),
            (ends, "toggle_availability_online", {"reason": decisions.snooze_ended_reason})]


AVAILABILITY = _spec("restaurant_availability", ("availability_online", "availability_offline"))
TOGGLE = _spec("restaurant_availability_toggle",
               ("toggle_availability_online", "toggle_availability_offline"))
