"""orders: whole Orders that validate against Toast's own definitions, money that adds up to the
cent, lifecycles that are valid state sequences, GUIDs and prices stable per entity."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from dispatcher.events import Decisions, EventError, World, make_event, simulated_restaurants
from dispatcher.events.kitchen import kitchen_of
from tests.events.toast_schema import nullable_schema, orders_definitions

AT = 1711638661.05
WORLD = simulated_restaurants(12, seed=7)
TOAST_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}\+0000")
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Toast's webhook example (devOrdersWebhookRef, Example 9.3): the order, as published.
TOAST_EXAMPLE_ORDER = json.loads("""{"guid":"f6d98b95-2816-4f54-b1ab-7a5d71e83769","entityType":"Order","externalId":null,"revenueCenter":null,"server":{"guid":"909523c3-5bf9-4bad-a3b9-68c4ce3c05e9","entityType":"RestaurantUser","externalId":null},"createdInTestMode":false,"lastModifiedDevice":{"id":"9b5185224a27ab72"},"source":"In Store","voidDate":null,"duration":null,"businessDate":20240401,"paidDate":null,"restaurantService":null,"excessFood":false,"voided":false,"estimatedFulfillmentDate":"2024-04-01T15:09:30.223+0000","table":null,"requiredPrepTime":"PT0S","approvalStatus":"APPROVED","deliveryInfo":null,"serviceArea":null,"curbsidePickupInfo":null,"numberOfGuests":1,"diningOption":{"guid":"06f9f331-848a-41b2-896f-e73e32cb278e","entityType":"DiningOption","externalId":null},"appliedPackagingInfo":null,"openedDate":"2024-04-01T15:09:30.223+0000","voidBusinessDate":null,"checks":[{"guid":"cd39b62e-363b-4029-98f1-f3dc91f00df4","entityType":"Check","externalId":null,"displayNumber":"2","payments":[],"appliedDiscounts":[],"lastModifiedDevice":{"id":"9b5185224a27ab72"},"voidDate":null,"paidDate":null,"appliedLoyaltyInfo":null,"voided":false,"paymentStatus":"OPEN","amount":0,"tabName":null,"taxExempt":false,"openedDate":"2024-04-01T15:10:58.985+0000","totalAmount":0,"selections":[],"voidBusinessDate":null,"createdDate":"2024-04-01T15:10:59.798+0000","deleted":false,"createdDevice":{"id":"9b5185224a27ab72"},"closedDate":null,"deletedDate":"1970-01-01T00:00:00.000+0000","modifiedDate":"2024-04-01T15:10:59.833+0000","taxAmount":0,"appliedServiceCharges":[],"customer":null}],"deleted":false,"createdDevice":{"id":"9b5185224a27ab72"},"createdDate":"2024-04-01T15:10:59.817+0000","closedDate":null,"deletedDate":"1970-01-01T00:00:00.000+0000","modifiedDate":"2024-04-01T15:10:59.817+0000","promisedDate":null,"channelGuid":null,"pricingFeatures":["TAXESV2"]}""")


@pytest.fixture(scope="module")
def order_validator() -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(nullable_schema(orders_definitions(), "Order"))


def stream(seed: int, count: int, world: World | None = None, restaurants=WORLD) -> Iterator[Any]:
    """``count`` successive orders events of one world, a minute apart."""
    world = world or World()
    rng = random.Random(seed)
    for index in range(count):
        yield make_event("orders", at=AT + 60 * index, rng=rng, restaurants=restaurants, world=world)


def cents(value: float) -> int:
    return int((Decimal(str(value)) * 100).to_integral_value())


def all_dates(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from all_dates(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from all_dates(v, key)
    elif key.endswith("Date") and "Business" not in key and key != "businessDate":
        yield key, value


def assert_money_adds_up(order: dict[str, Any]) -> None:
    for check in order["checks"]:
        live = [s for s in check["selections"] if not s["voided"]]
        charges = sum(cents(c["chargeAmount"]) for c in check["appliedServiceCharges"])
        discounts = sum(cents(d["discountAmount"]) for d in check["appliedDiscounts"])
        assert cents(check["amount"]) == sum(cents(s["price"]) for s in live) + charges - discounts
        charge_taxes = sum(cents(t["taxAmount"]) for c in check["appliedServiceCharges"]
                           for t in c["appliedTaxes"])
        assert cents(check["taxAmount"]) == sum(cents(s["tax"]) for s in live) + charge_taxes
        assert cents(check["totalAmount"]) == cents(check["amount"]) + cents(check["taxAmount"])
        for selection in check["selections"]:
            assert cents(selection["tax"]) == sum(cents(t["taxAmount"]) for t in selection["appliedTaxes"])
            unit = cents(selection["receiptLinePrice"]) + sum(
                cents(m["receiptLinePrice"]) for m in selection["modifiers"])
            assert cents(selection["price"]) == unit * int(selection["quantity"])
        if check["paymentStatus"] in ("PAID", "CLOSED"):
            assert sum(cents(p["amount"]) for p in check["payments"]
                       if p["paymentStatus"] != "VOIDED") == cents(check["totalAmount"])


def assert_toast_shape(envelope: dict[str, Any]) -> None:
    assert envelope["eventCategory"] == envelope["eventType"] in ("order_updated", "channel_order_updated")
    details = envelope["details"]
    assert list(details) == ["restaurantGuid", "order"]
    order = details["order"]
    assert order["externalId"] is None and order["entityType"] == "Order"
    assert type(order["businessDate"]) is int and 20000101 <= order["businessDate"] <= 99991231
    for key, value in all_dates(order):
        assert value is None or TOAST_DATE.fullmatch(value), (key, value)
    # Guest personal data is left out.
    text = json.dumps(order)
    for key in ("firstName", "lastName", "phone", "email", "address1", "address2", "city", "zipCode"):
        assert f'"{key}": "' not in text, key


def test_toasts_own_example_passes_the_schema(order_validator):
    order_validator.validate(TOAST_EXAMPLE_ORDER)   # the converted schema accepts what Toast sends


def test_the_schema_catches_what_toast_does_not_define(order_validator):
    wrong = json.loads(json.dumps(TOAST_EXAMPLE_ORDER))
    wrong["checks"][0]["surprise"] = 1
    assert not order_validator.is_valid(wrong)
    del wrong["checks"][0]["surprise"]
    wrong["checks"][0]["paymentStatus"] = "SETTLED"
    assert not order_validator.is_valid(wrong)


@pytest.mark.parametrize("seed", range(6))
def test_a_stream_of_orders_validates_against_toasts_order_definition(order_validator, seed):
    for event in stream(seed, 40):
        envelope = json.loads(event.body())
        errors = sorted(order_validator.iter_errors(envelope["details"]["order"]), key=str)
        assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:3]]
        assert_toast_shape(envelope)
        assert_money_adds_up(envelope["details"]["order"])


def test_a_large_order_is_a_catering_order_over_600_kb(order_validator):
    event = make_event("orders", at=AT, rng=random.Random(5), restaurants=WORLD, large=True)
    body = event.body()
    assert len(body) > 600 * 1024
    envelope = json.loads(body)
    order = envelope["details"]["order"]
    assert order["source"] == "Catering"
    order_validator.validate(order)
    assert_toast_shape(envelope)
    assert_money_adds_up(order)


def test_large_is_only_for_orders():
    with pytest.raises(EventError) as err:
        make_event("menus", at=AT, rng=random.Random(0), restaurants=WORLD, large=True)
    assert err.value.field == "large"


def test_typical_orders_are_a_few_kb():
    sizes = sorted(len(event.body()) for event in stream(1, 200))
    assert 1_000 < sizes[len(sizes) // 2] < 20_000


def _lifecycles(events) -> dict[str, list[dict[str, Any]]]:
    orders: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        order = json.loads(event.body())["details"]["order"]
        orders.setdefault(order["guid"], []).append(order)
    return orders


# The check paymentStatus moves a check may make (reopening a closed check is Toast's too).
PAYMENT_MOVES = {("OPEN", "OPEN"), ("OPEN", "PAID"), ("PAID", "PAID"), ("PAID", "CLOSED"),
                 ("CLOSED", "CLOSED"), ("CLOSED", "OPEN")}
FULFILMENT = ("NEW", "SENT", "READY")


def assert_valid_lifecycle(messages: list[dict[str, Any]]) -> None:
    dates = [m["modifiedDate"] for m in messages]
    assert dates == sorted(dates) and len(set(dates)) == len(dates), "each change is later"
    for before, after in zip(messages, messages[1:]):
        assert not before["voided"], "nothing happens to a voided order"
        assert after["guid"] == before["guid"] and after["createdDate"] == before["createdDate"]
        old_checks = {c["guid"]: c for c in before["checks"]}
        assert set(old_checks) <= {c["guid"] for c in after["checks"]}
        for check in after["checks"]:
            old = old_checks[check["guid"]]
            assert (old["paymentStatus"], check["paymentStatus"]) in PAYMENT_MOVES
            old_selections = {s["guid"]: s for s in old["selections"]}
            assert set(old_selections) <= {s["guid"] for s in check["selections"]}, "never removed"
            for selection in check["selections"]:
                if selection["guid"] in old_selections:
                    was = old_selections[selection["guid"]]
                    assert (selection["item"], selection["price"]) == (was["item"], was["price"])
                    assert FULFILMENT.index(selection["fulfillmentStatus"]) >= FULFILMENT.index(
                        was["fulfillmentStatus"]), "kitchen status never goes back"
                    assert selection["voided"] or not was["voided"]
                    if selection["voided"]:
                        assert selection["voidDate"] <= selection["modifiedDate"] <= after["modifiedDate"]
            old_payments = [p["guid"] for p in old["payments"]]
            assert [p["guid"] for p in check["payments"]][:len(old_payments)] == old_payments


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), count=st.integers(1, 60), restaurants=st.integers(1, 4))
def test_property_lifecycles_are_valid_and_money_adds_up(seed, count, restaurants):
    world = simulated_restaurants(restaurants, seed)
    events = list(stream(seed, count, restaurants=world))
    for event in events:
        assert event.restaurant_guid == event.details["restaurantGuid"]
        assert_money_adds_up(json.loads(event.body())["details"]["order"])
    for messages in _lifecycles(events).values():
        assert_valid_lifecycle(messages)


def test_lifecycles_reach_every_stage_voids_and_reopens():
    seen = set()
    for messages in _lifecycles(stream(11, 3000)).values():
        statuses = [tuple(c["paymentStatus"] for c in m["checks"]) for m in messages]
        seen |= {s for status in statuses for s in status}
        if messages[-1]["voided"]:
            seen.add("VOIDED")
        if any("CLOSED" in a and "OPEN" in b for a, b in zip(statuses, statuses[1:])):
            seen.add("REOPENED")
        stages = {s["fulfillmentStatus"] for m in messages for c in m["checks"] for s in c["selections"]}
        seen |= stages
    assert seen >= {"OPEN", "PAID", "CLOSED", "VOIDED", "REOPENED", "NEW", "SENT", "READY"}


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_property_items_keep_their_guid_name_and_price(seed):
    prices: dict[str, tuple[str, Any]] = {}
    for event in stream(seed, 40):
        for check in event.details["order"]["checks"]:
            for selection in check["selections"]:
                item = selection["item"]["guid"]
                known = prices.setdefault(item, (selection["displayName"], selection["receiptLinePrice"]))
                assert known == (selection["displayName"], selection["receiptLinePrice"])


def test_menus_are_per_restaurant_and_stable():
    for restaurant in WORLD:
        assert kitchen_of(restaurant) == kitchen_of(restaurant)
        # the stock category's items are the ones ordered
        assert [i.ref.guid for i in kitchen_of(restaurant).items] == [i.guid for i in restaurant.items]
    shared = [r for r in WORLD if r.management_group_guid and r.name == WORLD[0].name]
    if len(shared) > 1:   # a group's shared item costs the same at each location
        a, b = (kitchen_of(r) for r in shared[:2])
        assert [i.price for i in a.items] == [i.price for i in b.items]


def test_channel_orders_decision():
    off = [e.event_type for e in stream(2, 200)]
    assert set(off) == {"order_updated"}
    world = World(decisions=Decisions(channel_orders=True))
    on = list(stream(2, 200, world=world))
    assert {e.event_type for e in on} == {"order_updated", "channel_order_updated"}
    for event in on:
        channel = event.details["order"]["source"] in ("API", "Google", "Grubhub")
        assert (event.event_type == "channel_order_updated") == channel
        assert json.loads(event.body())["eventCategory"] == event.event_type
    asked = make_event("orders", at=AT, rng=random.Random(1), restaurants=WORLD,
                       event_type="channel_order_updated")
    assert asked.details["order"]["source"] in ("API", "Google", "Grubhub")


def test_a_given_restaurant_gets_its_orders():
    world = World()
    rng = random.Random(4)
    for index in range(20):
        event = make_event("orders", at=AT + index, rng=rng, restaurants=WORLD, world=world,
                           restaurant_guid=WORLD[3].guid)
        assert event.details["restaurantGuid"] == event.restaurant_guid == WORLD[3].guid


def test_the_same_seed_gives_the_same_stream():
    assert [e.body() for e in stream(9, 30)] == [e.body() for e in stream(9, 30)]


def test_given_details_are_validated():
    with pytest.raises(EventError) as err:
        make_event("orders", at=AT, rng=random.Random(0), restaurants=WORLD, details={"order": []})
    assert err.value.field == "details.order"
