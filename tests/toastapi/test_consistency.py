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
from dispatcher.clock import parse_iso
from storage.deliveries import DeliveryQuery
from tests.dispatcher.conftest import Dispatcher, Target
from tests.toastapi.conftest import Toast
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
