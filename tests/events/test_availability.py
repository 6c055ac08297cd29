"""restaurant_availability and restaurant_availability_toggle: status and reason match the type."""

from __future__ import annotations

import json
import random

import pytest

from dispatcher.events import EventError, make_event, simulated_restaurants

AT = 1711638661.05
WORLD = simulated_restaurants(12, seed=7)

EXPECTED = [
    ("restaurant_availability", "availability_online", "ONLINE", "AVAILABILITY_ONLINE",
     "Restaurant is approving online orders"),
    ("restaurant_availability", "availability_offline", "OFFLINE", "AVAILABILITY_OFFLINE",
     "Restaurant cannot accept online orders"),
    ("restaurant_availability_toggle", "toggle_availability_online", "ONLINE", "TOGGLE_ENABLED",
     "User enabled integration"),
    ("restaurant_availability_toggle", "toggle_availability_offline", "OFFLINE", "TOGGLE_DISABLED",
     "User disabled integration"),
]


@pytest.mark.parametrize(("category", "event_type", "status", "reason_key", "reason"), EXPECTED)
def test_generated_details_are_exact(category, event_type, status, reason_key, reason):
    event = make_event(category, at=AT, rng=random.Random(0), restaurants=WORLD, event_type=event_type)
    assert json.loads(event.body())["details"] == {
        "restaurantGuid": event.restaurant_guid, "status": status, "reasonKey": reason_key, "reason": reason,
    }
    assert list(event.details) == ["restaurantGuid", "status", "reasonKey", "reason"]
    assert event.restaurant_guid in {r.guid for r in WORLD}


def test_types_belong_to_their_own_category():
    with pytest.raises(EventError) as err:
        make_event("restaurant_availability_toggle", at=AT, rng=random.Random(0), restaurants=WORLD,
                   event_type="availability_online")
    assert err.value.field == "event_type"


def test_reason_text_can_be_overridden():
    event = make_event("restaurant_availability_toggle", at=AT, rng=random.Random(0), restaurants=WORLD,
                       event_type="toggle_availability_offline",
                       details={"reason": "Channel snoozed for 20 minutes"})
    assert event.details["reason"] == "Channel snoozed for 20 minutes"


@pytest.mark.parametrize(("category", "event_type", "details", "field"), [
    ("restaurant_availability", "availability_online", {"status": "OFFLINE"}, "details.status"),
    ("restaurant_availability", "availability_offline", {"status": "offline"}, "details.status"),
    ("restaurant_availability", "availability_offline", {"reasonKey": "TOGGLE_DISABLED"},
     "details.reasonKey"),
    ("restaurant_availability_toggle", "toggle_availability_online", {"reasonKey": "AVAILABILITY_ONLINE"},
     "details.reasonKey"),
    ("restaurant_availability_toggle", "toggle_availability_online", {"reasonKey": "SNOOZED"},
     "details.reasonKey"),
    ("restaurant_availability_toggle", "toggle_availability_offline", {"reason": None}, "details.reason"),
])
def test_status_and_reason_key_must_match_the_type(category, event_type, details, field):
    with pytest.raises(EventError) as err:
        make_event(category, at=AT, rng=random.Random(0), restaurants=WORLD, event_type=event_type,
                   details=details)
    assert err.value.field == field
