"""What a webhook announced, or would have announced when it was Not sent, the API shows.

A subscription to a failing endpoint (a real HTTP server on 127.0.0.1) is paused and then
stopped by the real engine's back-off while events keep coming; then every Not sent event's
state is looked up through the API that matches its category.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from dispatcher.backoff import BackoffRules
from web.times import parse_time as parse_iso
from dispatcher.events import Event
from storage.deliveries import DeliveryQuery
from tests.dispatchers import Dispatcher
from tests.webhooks import Target
from tests.toastapi.conftest import Toast
from toastapi.restaurants import text_times
from tests.toastapi.test_orders_api import toast_time, without_guest_data


@pytest.fixture
def backoff_rules() -> BackoffRules:
    # The platform's shape with small numbers: 5 errors in 300 s pause for 60 s; 3 pauses in
    # 600 s stop.
    return BackoffRules(5, 300.0, 60.0, 3, 600.0)


async def drive_to_stop(d: Dispatcher, target: Target, category: str,
                        send: Callable[[], Awaitable[Any]]) -> tuple[str, list[str]]:
    """Subscribe ``category`` to the failing target and ``send`` events until the back-off has
    paused and then stopped it, sending more while paused and once stopped. (subscription GUID,
    the statuses the subscription went through)."""
    target.status = 500
    sub = await d.service.create_subscription(event_category=category, url=target.url,
                                              notification_email="dev@example.com")
    seen = []
    for _ in range(40):
        await send()
        await d.run_due()
        status = (await d.service.get_subscription(sub.guid)).status
        seen.append(status)
        if status == "STOPPED":
            break
        d.clock.advance(20)
        await d.run_due()
    for _ in range(3):   # events of a stopped subscription: Not sent
        d.clock.advance(5)
        await send()
        await d.run_due()
    assert "PAUSED" in seen and seen[-1] == "STOPPED", seen
    return sub.guid, seen


async def not_sent_events(d: Dispatcher, subscription: str) -> list[dict[str, Any]]:
    envelopes, cursor = [], None
    while True:
        page = await d.service.list_deliveries(DeliveryQuery(subscription, status="NOT_SENT",
                                                             limit=500, cursor=cursor))
        envelopes += [json.loads(item.body) for item in page.items]
        if page.next_cursor is None:
            return envelopes
        cursor = page.next_cursor


async def assert_paused_and_stopped_not_sent(d: Dispatcher, subscription: str,
                                             not_sent: list[dict[str, Any]]) -> None:
    """Events were Not sent both while the subscription was paused and once it was stopped."""
    history = (await d.service.backoff(subscription)).history
    stopped = next(t.at for t in history if t.kind == "STOPPED")
    times = [parse_iso(envelope["timestamp"]) for envelope in not_sent]
    assert any(t < stopped for t in times) and any(t > stopped for t in times)


async def test_every_not_sent_order_is_visible_through_the_orders_api(toast: Toast, target: Target):
    d = toast.dispatcher
    restaurant = d.service.restaurants[0].guid
    started = d.clock.now()
    made: list[dict[str, Any]] = []

    async def send() -> None:
        events = await d.service.send_events(category="orders", restaurant_guid=restaurant, count=2)
        made.extend(e.details["order"] for e in events)

    subscription, seen = await drive_to_stop(d, target, "orders", send)
    not_sent = await not_sent_events(d, subscription)
    await assert_paused_and_stopped_not_sent(d, subscription, not_sent)
    newest = {order["guid"]: order for order in made}
    window = {"startDate": toast_time(started), "endDate": toast_time(d.clock.now() + 60)}
    bulk = {o["guid"]: o for o in await toast.get("/orders/v2/ordersBulk", restaurant, **window)}
    for envelope in not_sent:
        order = envelope["details"]["order"]
        shown = await toast.get(f"/orders/v2/orders/{order['guid']}", restaurant)
        # The API shows the order's newest state: this event's, or a later event's.
        assert without_guest_data(shown) == newest[order["guid"]]
        assert shown["modifiedDate"] >= order["modifiedDate"]
        if order is newest[order["guid"]] or order == newest[order["guid"]]:
            assert without_guest_data(shown) == order
        assert without_guest_data(bulk[order["guid"]]) == newest[order["guid"]]


async def _partner(toast: Toast, newest: Event, made: list[Event]) -> None:
    listed = {r["restaurantGuid"]: r for r in await toast.get("/partners/v1/restaurants", None)}
    shown = listed[newest.details["restaurantGuid"]]
    assert shown["deleted"] == (newest.event_type == "partner_removed")
    assert shown["restaurantName"] == newest.details["restaurantName"]
    assert shown["createdDate"] == newest.details["createdDate"]


async def _menus(toast: Toast, newest: Event, made: list[Event]) -> None:
    shown = await toast.get("/menus/v2/metadata", newest.restaurant_guid)
    assert shown["lastUpdated"] == newest.details["publishedDate"]


async def _stock(toast: Toast, newest: Event, made: list[Event]) -> None:
    shown = {i["guid"]: i for i in await toast.get("/stock/v1/inventory", newest.restaurant_guid)}
    item = newest.details["itemGuid"]
    if newest.details["status"] == "IN_STOCK":
        assert item not in shown
    else:
        assert (shown[item]["status"], shown[item]["quantity"]) == (
            newest.details["status"], newest.details.get("quantity"))


async def _schedule(toast: Toast, newest: Event, made: list[Event]) -> None:
    shown = await toast.get("/ordermgmt-config/v1/published/orderingSchedule", newest.restaurant_guid)
    assert shown["orderingSchedule"] == text_times(newest.details["orderingSchedule"])


async def _availability(toast: Toast, newest: Event, made: list[Event]) -> None:
    """Online only when the newest autofire and the newest toggle event are both online."""
    restaurant = newest.restaurant_guid
    latest = {e.category: e for e in made if e.restaurant_guid == restaurant}
    offline = [e for e in (latest.get("restaurant_availability"),
                           latest.get("restaurant_availability_toggle"))
               if e is not None and e.details["status"] == "OFFLINE"]
    shown = await toast.get("/restaurant-availability/v1/availability", restaurant)
    expected = offline[0].details if offline else {"status": "ONLINE", "reasonKey": "AVAILABILITY_ONLINE"}
    assert (shown["status"], shown["reasonKey"]) == (expected["status"], expected["reasonKey"])


# category -> (what one state is about, how the matching API must show the newest event about it)
CHECKS: dict[str, tuple[Callable[[Event], Any], Callable[[Toast, Event, list[Event]], Awaitable[None]]]] = {
    "partner": (lambda e: e.details["restaurantGuid"], _partner),
    "menus": (lambda e: e.restaurant_guid, _menus),
    "stock": (lambda e: (e.restaurant_guid, e.details["itemGuid"]), _stock),
    "ordering_schedule": (lambda e: e.restaurant_guid, _schedule),
    "restaurant_availability": (lambda e: (e.category, e.restaurant_guid), _availability),
    "restaurant_availability_toggle": (lambda e: (e.category, e.restaurant_guid), _availability),
}


@pytest.mark.parametrize("category", sorted(CHECKS))
async def test_every_not_sent_event_is_visible_through_its_api(toast: Toast, target: Target,
                                                               category: str):
    d = toast.dispatcher
    key_of, check = CHECKS[category]
    made: list[Event] = []
    turn = 0

    async def send() -> None:
        nonlocal turn
        for _ in range(2):   # two restaurants, so states are overwritten and kept apart
            turn += 1
            restaurant = d.service.restaurants[turn % 2].guid
            made.extend(await d.service.send_events(category=category, restaurant_guid=restaurant))

    subscription, _ = await drive_to_stop(d, target, category, send)
    not_sent = await not_sent_events(d, subscription)
    await assert_paused_and_stopped_not_sent(d, subscription, not_sent)
    by_guid = {event.guid: event for event in made}
    for envelope in not_sent:
        event = by_guid[envelope["guid"]]
        newest = [e for e in made if key_of(e) == key_of(event)][-1]
        await check(toast, newest, made)
