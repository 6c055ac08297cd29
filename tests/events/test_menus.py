"""menus: menus_updated with restaurantGuid and publishedDate."""

from __future__ import annotations

import json
import random
import re
from datetime import datetime

import pytest

from dispatcher.events import EventError, make_event, simulated_restaurants

AT = 1711638661.05
WORLD = simulated_restaurants(12, seed=7)
ISO_MILLIS_Z = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")


def _ms(text: str) -> int:
    return round(datetime.fromisoformat(text).timestamp() * 1000)


@pytest.mark.parametrize("seed", range(30))
def test_generated_details_are_exact(seed):
    event = make_event("menus", at=AT, rng=random.Random(seed), restaurants=WORLD)
    details = json.loads(event.body())["details"]
    assert event.event_type == "menus_updated"
    assert list(details) == ["restaurantGuid", "publishedDate"]
    assert details["restaurantGuid"] == event.restaurant_guid
    assert isinstance(details["publishedDate"], str) and ISO_MILLIS_Z.fullmatch(details["publishedDate"])
    # published at or shortly before the event
    assert _ms(event.timestamp) - 60_000 <= _ms(details["publishedDate"]) <= _ms(event.timestamp)


def test_explicit_published_date_wins():
    event = make_event("menus", at=AT, rng=random.Random(0), restaurants=WORLD,
                       details={"publishedDate": "2024-03-28T15:00:00.000Z"})
    assert event.details["publishedDate"] == "2024-03-28T15:00:00.000Z"


@pytest.mark.parametrize(("details", "field"), [
    ({"publishedDate": "yesterday"}, "details.publishedDate"),
    ({"publishedDate": "2024-03-28T15:11:01"}, "details.publishedDate"),  # no zone
    ({"publishedDate": "2024-03-28T17:11:01.050+02:00"}, "details.publishedDate"),  # not UTC
    ({"publishedDate": 1711638661050}, "details.publishedDate"),
    ({"restaurantGuid": None}, "details.restaurantGuid"),
])
def test_invalid_details_name_the_field(details, field):
    with pytest.raises(EventError) as err:
        make_event("menus", at=AT, rng=random.Random(0), restaurants=WORLD, details=details)
    assert err.value.field == field
    assert str(err.value).startswith(f"{field}: expected")
