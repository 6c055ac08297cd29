"""The envelope every category shares: shape, bytes, timestamps, GUIDs, restaurant choice."""

from __future__ import annotations

import json
import random
import uuid

import pytest

from dispatcher.settings import DispatcherSettings

from dispatcher.events import (
    Event, EventError, categories, envelope_category, event_types, make_event, placeholder_restaurant, simulated_restaurants,
    validate_details,
)

AT = 1711638661.05  # 2024-03-28T15:11:01.050Z
WORLD = simulated_restaurants(12, seed=7)
RESTAURANT_GUID = "3325cc58-dc6e-4e21-85f9-7de275ffe820"


def test_categories_and_types_are_toasts():
    assert categories() == (
        "menus", "stock", "partner", "restaurant_availability", "restaurant_availability_toggle",
        "orders", "guest_order_status", "packaging", "ordering_schedule")
    assert event_types("menus") == ("menus_updated",)
    assert event_types("stock") == ("in_stock", "out_of_stock", "low_quantity")
    assert event_types("partner") == ("partner_added", "partner_removed", "partner_updated")
    assert event_types("restaurant_availability") == ("availability_online", "availability_offline")
    assert event_types("restaurant_availability_toggle") == (
        "toggle_availability_online", "toggle_availability_offline")
    assert event_types("orders") == ("order_updated", "channel_order_updated")
    assert event_types("guest_order_status") == ("guestOrderStatusUpdated",)
    assert event_types("packaging") == ("packaging_updated",)
    assert event_types("ordering_schedule") == ("ordering_schedule_updated",)


def test_body_is_exact_compact_json_in_toast_key_order():
    event = Event(guid="e445f586-081c-4a2a-bcd6-30717a48e17a", category="menus", event_type="menus_updated",
                  timestamp="2024-03-28T15:11:01.050Z", restaurant_guid=RESTAURANT_GUID,
                  details={"restaurantGuid": RESTAURANT_GUID, "publishedDate": "2024-03-28T15:10:59.001Z"})
    assert event.body() == (
        b'{"timestamp":"2024-03-28T15:11:01.050Z","eventCategory":"menus","eventType":"menus_updated",'
        b'"guid":"e445f586-081c-4a2a-bcd6-30717a48e17a","details":{"restaurantGuid":'
        b'"3325cc58-dc6e-4e21-85f9-7de275ffe820","publishedDate":"2024-03-28T15:10:59.001Z"}}'
    )
    assert list(event.envelope()) == ["timestamp", "eventCategory", "eventType", "guid", "details"]


@pytest.mark.parametrize("category", categories())
def test_generated_envelope_matches_the_event(category):
    event = make_event(category, at=AT, rng=random.Random(3), restaurants=WORLD)
    envelope = json.loads(event.body())
    assert list(envelope) == ["timestamp", "eventCategory", "eventType", "guid", "details"]
    wire = envelope_category(category, event.event_type, DispatcherSettings())
    assert wire == (event.event_type if category == "orders" else category)
    assert envelope == {"timestamp": "2024-03-28T15:11:01.050Z", "eventCategory": wire,
                        "eventType": event.event_type, "guid": event.guid, "details": event.details}
    assert event.event_type in event_types(category)
    assert uuid.UUID(event.guid).version == 4 and str(uuid.UUID(event.guid)) == event.guid
    assert b", " not in event.body() and b'": ' not in event.body()


def test_non_ascii_is_sent_as_utf8_not_escaped():
    cafe = next(r for r in simulated_restaurants(60, seed=0) if r.name == "Café Olé")
    body = make_event("partner", at=AT, rng=random.Random(1), restaurants=[cafe]).body()
    assert '"restaurantName":"Café Olé"'.encode() in body
    assert b"\\u00e9" not in body
    body.decode("utf-8")


@pytest.mark.parametrize(("at", "text"), [
    (AT, "2024-03-28T15:11:01.050Z"),
    (0, "1970-01-01T00:00:00.000Z"),
    (1711638661, "2024-03-28T15:11:01.000Z"),
    (59.9996, "1970-01-01T00:01:00.000Z"),  # rounds to the nearest millisecond, carrying over
    (1.0004, "1970-01-01T00:00:01.000Z"),
    (253402300799.999, "9999-12-31T23:59:59.999Z"),
])
def test_timestamp_is_iso_utc_with_three_fraction_digits(at, text):
    event = make_event("restaurant_availability", at=at, rng=random.Random(0), restaurants=WORLD)
    assert event.timestamp == text
    assert json.loads(event.body())["timestamp"] == text


@pytest.mark.parametrize("at", [-0.001, float("nan"), float("inf"), 253402300800.0, "1711638661", True])
def test_invalid_at_is_rejected(at):
    with pytest.raises(EventError) as err:
        make_event("menus", at=at, rng=random.Random(0), restaurants=WORLD)
    assert err.value.field == "at"


def _run(seed: int) -> list[bytes]:
    world = simulated_restaurants(12, seed)
    rng = random.Random(seed)
    return [make_event(rng.choice(categories()), at=AT + i, rng=rng, restaurants=world).body()
            for i in range(60)]


def test_same_seed_gives_byte_identical_bodies():
    assert _run(11) == _run(11)


def test_different_seeds_give_different_bodies():
    first, second = _run(11), _run(12)
    assert all(a != b for a, b in zip(first, second))


def test_route_key_joins_category_and_restaurant():
    stock = make_event("stock", at=AT, rng=random.Random(0), restaurants=WORLD, restaurant_guid=WORLD[4].guid)
    assert stock.route_key == f"stock.{WORLD[4].guid}"
    partner = make_event("partner", at=AT, rng=random.Random(0), restaurants=WORLD,
                         restaurant_guid=WORLD[4].guid)
    assert partner.restaurant_guid is None
    assert partner.route_key == f"partner.{WORLD[4].guid}"


@pytest.mark.parametrize("category", categories())
def test_restaurant_guid_picks_that_restaurant(category):
    target = WORLD[5]
    event = make_event(category, at=AT, rng=random.Random(0), restaurants=WORLD, restaurant_guid=target.guid)
    assert event.details.get("restaurantGuid", target.guid) == target.guid   # packaging: header only
    assert event.restaurant_guid == (None if category == "partner" else target.guid)


def test_unknown_restaurant_guid_gets_a_deterministic_placeholder():
    first = make_event("partner", at=AT, rng=random.Random(0), restaurants=WORLD,
                       restaurant_guid=RESTAURANT_GUID)
    again = make_event("partner", at=AT, rng=random.Random(99), restaurants=[],
                       restaurant_guid=RESTAURANT_GUID)
    assert first.details == again.details
    placeholder = placeholder_restaurant(RESTAURANT_GUID)
    assert first.details["restaurantGuid"] == RESTAURANT_GUID == placeholder.guid
    assert first.details["restaurantName"] == placeholder.name
    stock = make_event("stock", at=AT, rng=random.Random(0), restaurants=WORLD,
                       restaurant_guid=RESTAURANT_GUID)
    assert stock.restaurant_guid == RESTAURANT_GUID
    assert stock.details["itemGuid"] in {item.guid for item in placeholder.items}


def test_details_restaurant_guid_also_picks_the_restaurant():
    target = WORLD[2]
    event = make_event("restaurant_availability", at=AT, rng=random.Random(0), restaurants=WORLD,
                       details={"restaurantGuid": target.guid})
    assert event.restaurant_guid == target.guid


def test_conflicting_restaurant_guids_are_rejected():
    with pytest.raises(EventError) as err:
        make_event("menus", at=AT, rng=random.Random(0), restaurants=WORLD, restaurant_guid=WORLD[0].guid,
                   details={"restaurantGuid": WORLD[1].guid})
    assert err.value.field == "details.restaurantGuid"


@pytest.mark.parametrize("guid", ["not-a-guid", RESTAURANT_GUID.upper(), RESTAURANT_GUID.replace("-", "")])
def test_malformed_restaurant_guid_is_rejected(guid):
    with pytest.raises(EventError) as err:
        make_event("menus", at=AT, rng=random.Random(0), restaurants=WORLD, restaurant_guid=guid)
    assert err.value.field == "restaurant_guid"
    assert "UUID" in str(err.value)
    with pytest.raises(EventError) as err:
        make_event("menus", at=AT, rng=random.Random(0), restaurants=WORLD, details={"restaurantGuid": guid})
    assert err.value.field == "details.restaurantGuid"


def test_unknown_category_and_type_are_rejected_with_the_choices():
    with pytest.raises(EventError) as err:
        make_event("order_updated", at=AT, rng=random.Random(0), restaurants=WORLD)
    assert err.value.field == "category" and "menus" in str(err.value)
    with pytest.raises(EventError) as err:
        make_event("menus", at=AT, rng=random.Random(0), restaurants=WORLD, event_type="menus_deleted")
    assert err.value.field == "event_type" and "menus_updated" in str(err.value)
    with pytest.raises(EventError) as err:
        event_types("order_updated")
    assert err.value.field == "category"


def test_no_restaurants_and_no_guid_is_rejected():
    with pytest.raises(EventError) as err:
        make_event("menus", at=AT, rng=random.Random(0), restaurants=[])
    assert err.value.field == "restaurants"


def test_unknown_extra_keys_are_kept_after_the_spec_keys():
    event = make_event("menus", at=AT, rng=random.Random(0), restaurants=WORLD,
                       details={"newToastField": "é"})
    assert list(event.details) == ["restaurantGuid", "publishedDate", "newToastField"]
    assert '"newToastField":"é"}}'.encode() in event.body()


@pytest.mark.parametrize("details", [
    {"extra": {1, 2}}, {"extra": float("nan")}, {1: "x"}, ["restaurantGuid"],
])
def test_details_that_cannot_be_json_are_rejected(details):
    with pytest.raises(EventError) as err:
        make_event("menus", at=AT, rng=random.Random(0), restaurants=WORLD, details=details)
    assert err.value.field == "details"


@pytest.mark.parametrize("category", categories())
def test_parsed_bodies_validate_again(category):
    """What a receiver parses back is still valid: JSON types survive the round trip."""
    for seed in range(20):
        event = make_event(category, at=AT, rng=random.Random(seed), restaurants=WORLD)
        envelope = json.loads(event.body())
        validate_details(envelope["eventCategory"], envelope["eventType"], envelope["details"])
