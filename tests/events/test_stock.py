"""stock: the threshold of 5 decides type, status and quantity; quantity is always a JSON float."""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict

import pytest

from dispatcher.events import EventError, make_event, simulated_restaurants
from dispatcher.events.stock import event_type_for_quantity

AT = 1711638661.05
WORLD = simulated_restaurants(12, seed=7)
BASE_KEYS = ["itemGuid", "restaurantGuid", "status", "multiLocationId", "versionId"]
QUANTITY_KEYS = ["itemGuid", "restaurantGuid", "status", "quantity", "multiLocationId", "versionId"]


def _stock(event_type=None, seed=0, **kwargs):
    return make_event("stock", at=AT, rng=random.Random(seed), restaurants=WORLD, event_type=event_type,
                      **kwargs)


def _parsed(event):
    return json.loads(event.body())["details"]


def _assert_item_fields(event, details):
    restaurant = next(r for r in WORLD if r.guid == event.restaurant_guid)
    item = next(i for i in restaurant.items if i.guid == details["itemGuid"])
    assert details["restaurantGuid"] == restaurant.guid
    assert details["multiLocationId"] == item.multi_location_id
    assert re.fullmatch(r"[0-9]+", item.multi_location_id)
    assert details["versionId"] == item.guid


@pytest.mark.parametrize("seed", range(20))
def test_out_of_stock_has_no_quantity(seed):
    event = _stock("out_of_stock", seed)
    details = _parsed(event)
    assert list(details) == BASE_KEYS and details["status"] == "OUT_OF_STOCK"
    _assert_item_fields(event, details)


@pytest.mark.parametrize("seed", range(20))
def test_low_quantity_is_a_float_above_zero_up_to_five(seed):
    event = _stock("low_quantity", seed)
    details = _parsed(event)
    assert list(details) == QUANTITY_KEYS and details["status"] == "QUANTITY"
    assert type(details["quantity"]) is float and 0 < details["quantity"] <= 5
    assert re.search(rb'"quantity":[0-9]+\.[0-9]+,', event.body())
    _assert_item_fields(event, details)


def test_in_stock_comes_in_both_shapes():
    shapes = defaultdict(int)
    for seed in range(40):
        event = _stock("in_stock", seed)
        details = _parsed(event)
        _assert_item_fields(event, details)
        if details["status"] == "IN_STOCK":
            assert list(details) == BASE_KEYS
        else:
            assert details["status"] == "QUANTITY" and list(details) == QUANTITY_KEYS
            assert type(details["quantity"]) is float and details["quantity"] > 5
            assert re.search(rb'"quantity":[0-9]+\.[0-9]+,', event.body())
        shapes[details["status"]] += 1
    assert set(shapes) == {"IN_STOCK", "QUANTITY"}


@pytest.mark.parametrize(("quantity", "event_type"), [
    (0.0, "out_of_stock"), (-1.0, "out_of_stock"), (0.5, "low_quantity"), (1.0, "low_quantity"),
    (5.0, "low_quantity"), (5.000001, "in_stock"), (5.5, "in_stock"), (100.0, "in_stock"),
])
def test_threshold_boundaries(quantity, event_type):
    assert event_type_for_quantity(quantity) == event_type


def test_whole_quantity_renders_with_a_fraction():
    event = _stock("low_quantity", details={"quantity": 5.0})
    assert b'"status":"QUANTITY","quantity":5.0,"multiLocationId"' in event.body()


@pytest.mark.parametrize("seed", range(10))  # covers generated IN_STOCK and QUANTITY shapes
def test_quantity_above_five_is_in_stock_with_quantity(seed):
    event = _stock("in_stock", seed, details={"quantity": 5.5})
    assert (event.details["status"], event.details["quantity"]) == ("QUANTITY", 5.5)
    assert list(event.details) == QUANTITY_KEYS


@pytest.mark.parametrize("seed", range(20))
def test_given_status_in_stock_drops_a_generated_quantity(seed):
    event = _stock("in_stock", seed, details={"status": "IN_STOCK"})
    assert list(event.details) == BASE_KEYS and event.details["status"] == "IN_STOCK"


@pytest.mark.parametrize("seed", range(5))
def test_given_item_brings_its_multi_location_id(seed):
    restaurant = WORLD[0]
    item = restaurant.items[-1]
    event = _stock("out_of_stock", seed, restaurant_guid=restaurant.guid, details={"itemGuid": item.guid})
    assert event.details["multiLocationId"] == item.multi_location_id
    assert event.details["versionId"] == item.guid


def test_multi_location_id_is_shared_across_a_groups_locations():
    groups = defaultdict(list)
    for restaurant in WORLD:
        groups[restaurant.management_group_guid].append(restaurant)
    members = max((m for g, m in groups.items() if g is not None), key=len)
    assert len(members) >= 2
    ids = set()
    for restaurant in members:
        croissant = restaurant.items[1]
        assert croissant.name == members[0].items[1].name
        event = _stock("low_quantity", restaurant_guid=restaurant.guid, details={"itemGuid": croissant.guid})
        assert event.details["itemGuid"] == croissant.guid
        ids.add(event.details["multiLocationId"])
    assert len(ids) == 1


@pytest.mark.parametrize(("event_type", "details", "field"), [
    ("in_stock", {"quantity": 3.0}, "details.quantity"),
    ("in_stock", {"status": "QUANTITY", "quantity": 5.0}, "details.quantity"),
    ("low_quantity", {"quantity": 0.0}, "details.quantity"),
    ("low_quantity", {"quantity": 5.5}, "details.quantity"),
    ("low_quantity", {"quantity": -2.0}, "details.quantity"),
    ("low_quantity", {"quantity": 3}, "details.quantity"),  # an int would render as 3, not 3.0
    ("low_quantity", {"quantity": "3.0"}, "details.quantity"),
    ("low_quantity", {"status": "QUANTITY", "quantity": None}, "details.quantity"),
    ("low_quantity", {"status": "IN_STOCK"}, "details.status"),
    ("out_of_stock", {"quantity": 2.0}, "details.status"),
    ("out_of_stock", {"status": "OUT_OF_STOCK", "quantity": 0.0}, "details.quantity"),
    ("out_of_stock", {"status": "SOLD_OUT"}, "details.status"),
    ("in_stock", {"status": "IN_STOCK", "quantity": 9.0}, "details.quantity"),
    ("in_stock", {"itemGuid": "1E199622-CCBF-4BA8-8C37-111519DCA13B"}, "details.itemGuid"),
    ("in_stock", {"multiLocationId": "ML-2570"}, "details.multiLocationId"),
    ("in_stock", {"multiLocationId": 100000000171241912}, "details.multiLocationId"),
    ("in_stock", {"versionId": None}, "details.versionId"),
])
def test_invalid_combinations_name_the_field(event_type, details, field):
    with pytest.raises(EventError) as err:
        _stock(event_type, details=details)
    assert err.value.field == field
    assert str(err.value).startswith(f"{field}: ")


def test_error_says_what_is_expected():
    with pytest.raises(EventError, match=r"in_stock needs quantity > 5\.0, got 3\.0"):
        _stock("in_stock", details={"quantity": 3.0})
