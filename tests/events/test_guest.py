"""guest_order_status: one message per transition of a guest's order, the same orders as the
orders stream, none for RECEIVED or plain edits."""

from __future__ import annotations

import json
import random
from datetime import datetime

import pytest
from hypothesis import given, settings, strategies as st

from dispatcher.events import EventError, World, make_event, simulated_restaurants, validate_details
from dispatcher.events.orders import book_of

AT = 1711638661.05
WORLD = simulated_restaurants(6, seed=3)
# The transitions a guest's order can make (reopening a closed order goes back to preparation).
MOVES = {None: {"IN_PREPARATION", "VOIDED"}, "IN_PREPARATION": {"READY_FOR_PICKUP", "VOIDED"},
         "READY_FOR_PICKUP": {"CLOSED", "VOIDED"}, "CLOSED": {"IN_PREPARATION"}, "VOIDED": set()}


def _toast_millis(text: str) -> int:
    return round(datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() * 1000)


def _status_of(order: dict, before: str | None = None) -> str | None:
    """The guest status an orders message shows, or None while it is only RECEIVED; ``before``:
    the status the order's previous message showed (a reopened order is in preparation again)."""
    if order["voided"]:
        return "VOIDED"
    checks = [c for c in order["checks"] if not c["voided"]]
    if checks and all(c["paymentStatus"] == "CLOSED" for c in checks):
        return "CLOSED"
    live = [s["fulfillmentStatus"] for c in checks for s in c["selections"] if not s["voided"]]
    if live and all(f == "READY" for f in live):
        return "IN_PREPARATION" if before == "CLOSED" else "READY_FOR_PICKUP"
    if any(f != "NEW" for f in live):
        return "IN_PREPARATION"
    return None


def mixed(seed: int, count: int, share: float):
    """``count`` events of one world, a share of them guest_order_status, a minute apart; then
    orders events until the orders stream has sent every change the guest stream made."""
    world, rng = World(), random.Random(seed)
    for index in range(count):
        category = "guest_order_status" if rng.random() < share else "orders"
        yield make_event(category, at=AT + 60 * index, rng=rng, restaurants=WORLD, world=world)
    while book_of(world).unsent_orders:
        yield make_event("orders", at=AT + 60 * count, rng=rng, restaurants=WORLD, world=world)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), share=st.sampled_from([0.2, 0.5, 0.8]))
def test_property_statuses_describe_the_orders_of_the_orders_stream(seed, share):
    events = list(mixed(seed, 80, share))
    orders: dict[str, list[tuple[dict, str | None]]] = {}   # order GUID -> (message, status shown)
    for event in events:
        if event.category == "orders":
            order = json.loads(event.body())["details"]["order"]
            seen = orders.setdefault(order["guid"], [])
            seen.append((order, _status_of(order, seen[-1][1] if seen else None)))
    last: dict[str, str | None] = {}
    for event in events:
        if event.category != "guest_order_status":
            continue
        details = json.loads(event.body())["details"]
        validate_details("guest_order_status", "guestOrderStatusUpdated", details)
        assert details["guestOrderStatus"] in MOVES[last.get(details["orderGuid"])]
        last[details["orderGuid"]] = details["guestOrderStatus"]
        changed = _toast_millis(details["lastUpdated"].replace("Z", "+0000"))
        # The orders stream shows the same order, in that status, changed at that moment.
        (message, status), = [(m, s) for m, s in orders[details["orderGuid"]]
                              if _toast_millis(m["modifiedDate"]) == changed]
        assert status == details["guestOrderStatus"]
        assert message["source"] not in ("In Store", "Catering")


def test_every_status_transition_of_an_order_is_sent_once():
    events = list(mixed(5, 600, 0.3))
    statuses: dict[str, list[str]] = {}
    shown: dict[str, list[str]] = {}
    for event in events:
        details = json.loads(event.body())["details"]
        if event.category == "guest_order_status":
            statuses.setdefault(details["orderGuid"], []).append(details["guestOrderStatus"])
        else:
            seen = shown.setdefault(details["order"]["guid"], [])
            status = _status_of(details["order"], seen[-1] if seen else None)
            if status and (not seen or seen[-1] != status):
                seen.append(status)
    assert statuses, "no guest order changed status"
    for guid, sent in statuses.items():
        assert "RECEIVED" not in sent
        assert all(a != b for a, b in zip(sent, sent[1:])), "one message per transition"
        # What the orders stream has shown so far is what the status stream said, in order.
        shown_here = shown.get(guid, [])
        n = min(len(sent), len(shown_here))
        assert sent[:n] == shown_here[:n]


def test_a_lone_status_event_is_valid():
    event = make_event("guest_order_status", at=AT, rng=random.Random(2), restaurants=WORLD)
    validate_details("guest_order_status", event.event_type, event.details)
    assert event.details["version"] is None and event.details["restaurantGuid"] == event.restaurant_guid


@pytest.mark.parametrize("version", [1, "1", ""])
def test_version_must_be_null(version):
    event = make_event("guest_order_status", at=AT, rng=random.Random(2), restaurants=WORLD)
    with pytest.raises(EventError) as err:
        validate_details("guest_order_status", event.event_type, {**event.details, "version": version})
    assert err.value.field == "details.version"
