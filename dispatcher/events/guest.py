"""guest_order_status: ``guestOrderStatusUpdated``, one message per transition of a guest's order.

The orders are the orders category's (the :class:`~dispatcher.events.orders.OrderBook` in the
world): a change to an order placed by a guest online (not at the counter) that moves its status
(sent to the kitchen: IN_PREPARATION, fulfilled: READY_FOR_PICKUP, closed: CLOSED, voided: VOIDED,
reopened: IN_PREPARATION again) is queued for this stream by whichever stream made the change.
When none is queued, orders are moved on here until one is, and the order messages those changes
make are queued for the orders stream, so with both subscribed the two streams describe the same
orders. No message for RECEIVED (every order's start) or for plain edits.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from dispatcher.events import (
    CategorySpec, EventError, Restaurant, World, check_enum, check_guid, check_iso_utc, iso_utc, new_guid,
)

from . import orders

STATUSES = ("IN_PREPARATION", "READY_FOR_PICKUP", "CLOSED", "VOIDED")
EVENT_TYPE = "guestOrderStatusUpdated"
_MOST_STEPS = 64   # a guest's order changes status within a few steps; this only bounds the loop


def _advance(world: World, rng: random.Random, at: float, restaurants: Sequence[Restaurant],
             event_type: str | None, restaurant: Restaurant | None) -> tuple[str, Restaurant, dict[str, Any]]:
    book = orders.book_of(world)
    found = _take(book, restaurant)
    for _ in range(_MOST_STEPS):
        if found is not None:
            break
        order, change = orders.step(world, rng, at, restaurants, restaurant=restaurant, guest_only=True)
        if not world.ephemeral:
            book.unsent_orders.append((order, orders.details_of(order)))
        found = _take(book, restaurant)
    if found is None:   # cannot happen with the lifecycles in orders.py; said clearly if it does
        raise EventError("guest_order_status", "no guest order changed status")
    order, status, when = found
    return EVENT_TYPE, order.restaurant, {
        "eventGuid": new_guid(rng), "orderGuid": order.guid, "restaurantGuid": order.restaurant.guid,
        "guestOrderStatus": status, "lastUpdated": iso_utc(when), "version": None,
    }


def _take(book: orders.OrderBook, restaurant: Restaurant | None) -> tuple[Any, str, int] | None:
    for index, (order, status, when) in enumerate(book.unsent_statuses):
        if restaurant is None or order.restaurant.guid == restaurant.guid:
            del book.unsent_statuses[index]
            return order, status, when
    return None


def _validate(event_type: str, details: Mapping[str, Any]) -> None:
    check_guid(details, "eventGuid")
    check_guid(details, "orderGuid")
    check_guid(details, "restaurantGuid")
    check_enum(details, "guestOrderStatus", STATUSES)
    check_iso_utc(details, "lastUpdated")
    if details.get("version", ...) is not None:
        raise EventError("details.version", f"expected null (Toast: 'This value is null'), "
                         f"got {details.get('version', 'nothing')!r}")


def _build(event_type: str, restaurant: Restaurant, rng: random.Random, at: float,
           world: World) -> dict[str, Any]:
    """Statuses follow the orders: make_event calls ``advance``, never this."""
    raise NotImplementedError("guest_order_status events come from SPEC.advance")


SPEC = CategorySpec(name="guest_order_status", event_types=(EVENT_TYPE,), restaurant_scoped=True,
                    build=_build, validate=_validate, advance=_advance, demo_weight=2)
