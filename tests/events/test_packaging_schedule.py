"""packaging and ordering_schedule: Toast's shapes, stable per restaurant, the decisions as settings."""

from __future__ import annotations

import json
import random
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from dispatcher.headers import request_headers
from dispatcher.events import (
    Decisions, EventError, World, envelope_category, make_event, simulated_restaurants, validate_details,
)
from dispatcher.events.schedule import next_opening, weekly_hours
from dispatcher.settings import DispatcherSettings
from endpoint_check.probe import _Headers

AT = 1711638661.05
WORLD = simulated_restaurants(12, seed=7)
# Toast's examples (Examples 9.4 without its trailing comma, and 9.12).
TOAST_PACKAGING = json.loads('{"packagingConfig":{"enabled":true,"items":[{"id":"ccdbcbf8-5c5b-4158-ae61-3a6da8bc847d","itemTypes":["CONDIMENTS"],"guestDisplayName":"Ketchup and mustard","guestInclusionType":"OPT_IN","guestDescription":"Includes ketchup and mustard only."}],"guestMessage":"Choose your packaging preferences to complete your order. "}}')
TOAST_SCHEDULE = json.loads('{"restaurantGuid":"d6bf0376-cea1-47c0-a63c-9fc06638a5a6","orderingSchedule":{"servicePeriods":[{"diningOptionBehavior":"DELIVERY","dayPeriods":[{"day":"SATURDAY","timeRanges":[{"start":[12,0],"end":[0,0]}]},{"day":"SUNDAY","timeRanges":[{"start":[11,0],"end":[23,0]}]}]},{"diningOptionBehavior":"TAKE_OUT","dayPeriods":[{"day":"TUESDAY","timeRanges":[{"start":[8,0],"end":[20,0]}]},{"day":"WEDNESDAY","timeRanges":[{"start":[10,0],"end":[20,0]}]},{"day":"THURSDAY","timeRanges":[{"start":[12,0],"end":[21,0]}]}]}],"overrides":[{"description":"team party","diningOptionBehavior":["DELIVERY"],"businessDate":20250531,"timeRanges":[{"start":[9,0],"end":[21,0]}]}],"scheduledOrderMaxDays":3,"lastOrderConfiguration":"UNTIL_CLOSING_TIME"}}')


def _shape(value):
    """Keys and JSON types, recursively (lists by their first element)."""
    if isinstance(value, dict):
        return {key: _shape(v) for key, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__ if value is not None else "str"


def test_toasts_examples_validate():
    validate_details("packaging", "packaging_updated", TOAST_PACKAGING)
    validate_details("ordering_schedule", "ordering_schedule_updated", TOAST_SCHEDULE)


@pytest.mark.parametrize("seed", range(10))
def test_packaging_has_toasts_shape_and_no_restaurant_guid(seed):
    event = make_event("packaging", at=AT, rng=random.Random(seed), restaurants=WORLD)
    envelope = json.loads(event.body())
    assert envelope["eventCategory"] == "packaging" and envelope["eventType"] == "packaging_updated"
    config = envelope["details"]["packagingConfig"]
    assert list(envelope["details"]) == ["packagingConfig"]
    assert list(config) == ["enabled", "items", "guestMessage"]
    for item in config["items"]:
        assert list(item) == list(TOAST_PACKAGING["packagingConfig"]["items"][0])
    assert event.restaurant_guid in {r.guid for r in WORLD}


def test_packaging_item_ids_are_stable_per_restaurant():
    ids = {tuple(i["id"] for i in make_event("packaging", at=AT + n, rng=random.Random(n), restaurants=[WORLD[1]])
                 .details["packagingConfig"]["items"]) for n in range(10)}
    assert len(ids) == 1
    other = make_event("packaging", at=AT, rng=random.Random(0), restaurants=[WORLD[2]])
    assert not set(ids.pop()) & {i["id"] for i in other.details["packagingConfig"]["items"]}


def test_packaging_category_decision_reaches_body_and_header():
    world = World(decisions=Decisions(packaging_event_category="partner"))
    event = make_event("packaging", at=AT, rng=random.Random(0), restaurants=WORLD, world=world)
    assert json.loads(event.body())["eventCategory"] == "partner"
    settings = DispatcherSettings(packaging_event_category="partner")
    assert envelope_category("packaging", "packaging_updated", settings) == "partner"
    headers = request_headers(_Headers("sig", "packaging_updated", "packaging", event.restaurant_guid), 1,
                              settings)
    assert headers["Toast-Event-Category"] == "partner"
    assert headers["Toast-Restaurant-External-ID"] == event.restaurant_guid


def test_the_header_says_what_the_body_says_even_after_the_setting_changed():
    world = World(decisions=Decisions(packaging_event_category="partner"))
    event = make_event("packaging", at=AT, rng=random.Random(0), restaurants=WORLD, world=world)
    delivery = _Headers("sig", "packaging_updated", "packaging", event.restaurant_guid, event.body())
    headers = request_headers(delivery, 2, DispatcherSettings())   # restarted with the default
    assert headers["Toast-Event-Category"] == "partner" == json.loads(event.body())["eventCategory"]
    assert envelope_category("packaging", "packaging_updated", DispatcherSettings(), b"{}") == "packaging"


@pytest.mark.parametrize("seed", range(10))
def test_ordering_schedule_has_toasts_shape(seed):
    event = make_event("ordering_schedule", at=AT, rng=random.Random(seed), restaurants=WORLD)
    envelope = json.loads(event.body())
    assert envelope["eventCategory"] == "ordering_schedule"
    assert envelope["eventType"] == "ordering_schedule_updated"
    schedule = envelope["details"]["orderingSchedule"]
    assert list(schedule) == list(TOAST_SCHEDULE["orderingSchedule"])
    expected = _shape(TOAST_SCHEDULE["orderingSchedule"]["servicePeriods"][0])
    for period in schedule["servicePeriods"]:
        assert _shape(period) == expected
    for override in schedule["overrides"]:
        assert _shape(override) == _shape(TOAST_SCHEDULE["orderingSchedule"]["overrides"][0])


def test_every_publish_changes_the_hours():
    usual = weekly_hours(WORLD[4])
    for seed in range(30):
        event = make_event("ordering_schedule", at=AT, rng=random.Random(seed), restaurants=[WORLD[4]])
        published = {(p["diningOptionBehavior"], d["day"]): (tuple(d["timeRanges"][0]["start"]),
                                                             tuple(d["timeRanges"][0]["end"]))
                     for p in event.details["orderingSchedule"]["servicePeriods"] for d in p["dayPeriods"]}
        expected = {(b, day): span for b, days in usual.items() for day, span in days.items()}
        assert set(published) == set(expected)
        assert sum(published[key] != expected[key] for key in expected) == 1


def test_weekly_hours_open_before_they_close():
    for restaurant in simulated_restaurants(60, seed=1):
        for days in weekly_hours(restaurant).values():
            for start, end in days.values():
                assert end == (0, 0) or start < end, (restaurant.guid, start, end)


def test_schedule_time_format_decision():
    world = World(decisions=Decisions(schedule_time_format="text"))
    event = make_event("ordering_schedule", at=AT, rng=random.Random(0), restaurants=WORLD, world=world)
    span = event.details["orderingSchedule"]["servicePeriods"][0]["dayPeriods"][0]["timeRanges"][0]
    assert isinstance(span["start"], str) and len(span["start"]) == 5 and span["start"][2] == ":"
    validate_details("ordering_schedule", "ordering_schedule_updated", event.details)


def test_next_opening_is_the_next_days_takeout_start_in_local_time():
    restaurant = WORLD[0]
    opening = next_opening(restaurant, AT)
    local = datetime.fromtimestamp(opening, ZoneInfo(restaurant.timezone))
    now = datetime.fromtimestamp(AT, ZoneInfo(restaurant.timezone))
    assert local.date() > now.date()
    day = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")[local.weekday()]
    assert (local.hour, local.minute) == weekly_hours(restaurant)["TAKE_OUT"][day][0]


@pytest.mark.parametrize(("category", "event_type", "details", "field"), [
    ("packaging", "packaging_updated", {"packagingConfig": {"enabled": "yes", "items": [], "guestMessage": None}},
     "details.packagingConfig.enabled"),
    ("packaging", "packaging_updated",
     {"packagingConfig": {"enabled": True, "items": [{"id": "x", "itemTypes": ["A"], "guestInclusionType": "OPT_IN"}],
                          "guestMessage": None}}, "details.packagingConfig.items[0].id"),
    ("ordering_schedule", "ordering_schedule_updated",
     {"restaurantGuid": WORLD[0].guid, "orderingSchedule": {**TOAST_SCHEDULE["orderingSchedule"],
                                                            "lastOrderConfiguration": "NEVER"}},
     "details.orderingSchedule.lastOrderConfiguration"),
    ("ordering_schedule", "ordering_schedule_updated",
     {"restaurantGuid": WORLD[0].guid, "orderingSchedule": {**TOAST_SCHEDULE["orderingSchedule"], "overrides": [
         {"description": "x", "diningOptionBehavior": ["DELIVERY"], "businessDate": 20250531,
          "timeRanges": [{"start": [25, 0], "end": [0, 0]}]}]}},
     "details.orderingSchedule.overrides[0].timeRanges[0].start"),
])
def test_bad_details_name_the_field(category, event_type, details, field):
    with pytest.raises(EventError) as err:
        validate_details(category, event_type, details)
    assert err.value.field == field
