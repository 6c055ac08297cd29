"""The orders API: ``GET /orders/v2/orders/{guid}`` and ``GET /orders/v2/ordersBulk``.

An order is the order of the newest orders event about it, as that event's body holds it
(sent, retried or Not sent alike), plus the guest data the webhook leaves out (Toast: first and
last name, phone, delivery address), which the API returns to a client with the scopes for it.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from dispatcher.events import is_guid, placeholder_restaurant
from dispatcher.events.simulated_restaurants import simulated_guest
from toastapi.access import PLATFORM, Platform, guarded, take_rate
from toastapi.errors import bad_request, not_found

MAX_PAGE_SIZE = 100
# Toast: "The date must be after 2015-12-01T00:00:00.000+0000".
_EARLIEST = datetime.fromisoformat("2015-12-01T00:00:00+00:00").timestamp()

routes = web.RouteTableDef()


def with_guest_data(order: dict[str, Any], platform: Platform, restaurant_guid: str) -> dict[str, Any]:
    """The webhook's order as the API returns it to a client with ``platform``'s scopes."""
    restaurant = platform.restaurant(restaurant_guid) or placeholder_restaurant(restaurant_guid)
    scopes = platform.settings.scopes
    for check in order.get("checks") or ():
        customer = check.get("customer")
        if customer is None:
            continue
        if "guest.pi:read" not in scopes:   # Toast omits Check.customer without the scope
            check["customer"] = None
            continue
        guest = simulated_guest(customer["guid"], restaurant)
        customer.update(firstName=guest.first_name, lastName=guest.last_name, phone=guest.phone,
                        phoneCountryCode="1", email=guest.email)
    if "guest.pi:read" not in scopes:
        order["curbsidePickupInfo"] = None
    delivery = order.get("deliveryInfo")
    if delivery is not None:
        if "delivery_info.address:read" not in scopes:
            order["deliveryInfo"] = None
        else:
            guest = simulated_guest(order["guid"], restaurant)
            delivery.update(address1=guest.address1, city=guest.city, state=guest.state,
                            zipCode=guest.zip_code, country="US", latitude=guest.latitude,
                            longitude=guest.longitude)
    return order


def order_of(body: bytes) -> dict[str, Any]:
    order: dict[str, Any] = json.loads(body)["details"]["order"]
    return order


@routes.get("/orders/v2/orders/{guid}")
@guarded("orders:read")
async def get_order(request: web.Request, restaurant_guid: str) -> web.Response:
    platform = request.app[PLATFORM]
    guid = request.match_info["guid"].strip().lower()
    if not is_guid(guid):
        raise bad_request(f"orderGuid must be an order GUID, got {request.match_info['guid']!r}",
                          "orderGuid")
    body = await platform.log.latest_order(restaurant_guid, guid, platform.now())
    if body is None:
        raise not_found(f"No order {guid} at restaurant {restaurant_guid}.")
    return web.json_response(with_guest_data(order_of(body), platform, restaurant_guid))


@routes.get("/orders/v2/ordersBulk")
@guarded("orders:read")
async def orders_bulk(request: web.Request, restaurant_guid: str) -> web.Response:
    """Orders whose modifiedDate is in [startDate, endDate), or of one ``businessDate``;
    ``pageSize`` (up to 100) per ``page``."""
    platform = request.app[PLATFORM]
    headers = take_rate(platform, f"ordersBulk:{restaurant_guid}")
    query = request.query
    size = int_query(query, "pageSize", MAX_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    page = int_query(query, "page", 1, 1, 1_000_000)
    if query.get("businessDate") and ("startDate" in query or "endDate" in query):
        raise bad_request("give either businessDate or startDate and endDate", "businessDate")
    if query.get("businessDate"):   # the orders of one business day, whenever modified
        day = _business_date(query["businessDate"])
        heads = await platform.log.order_heads(restaurant_guid, _EARLIEST, platform.now())
        window = sorted((_modified(head.modified_date), head.order_guid, head.event_guid)
                        for head in heads if head.business_date == day)
    else:
        start, end = toast_time(query, "startDate"), toast_time(query, "endDate")
        if end <= start:
            raise bad_request("endDate must be later than startDate", "endDate")
        heads = await platform.log.order_heads(restaurant_guid, start, platform.now())
        window = sorted((modified, head.order_guid, head.event_guid) for head in heads
                        if start <= (modified := _modified(head.modified_date)) < end)
    chosen = window[(page - 1) * size:page * size]
    bodies = await platform.log.bodies([event for _, _, event in chosen])
    orders = [with_guest_data(order_of(bodies[event]), platform, restaurant_guid)
              for _, _, event in chosen if event in bodies]
    if page * size < len(window):
        following = urlencode({**query, "page": page + 1})
        headers["Link"] = f'<{request.path}?{following}>; rel="next"'
    return web.json_response(orders, headers=headers)


def toast_time(query: Any, name: str) -> float:
    """An ISO-8601 query time with its zone (``2016-01-01T14:13:12.000+0400``) in epoch seconds.

    A ``+`` that was not URL-encoded arrives as a space; it is read as the ``+`` it was.
    """
    text = query.get(name)
    if not text:
        raise bad_request(f"{name} is required (ISO-8601 with a zone, e.g. "
                          "2024-03-28T15:00:00.000+0000)", name)
    moment = zoned_time(text, name)
    if moment <= _EARLIEST:
        raise bad_request(f"{name} must be after 2015-12-01T00:00:00.000+0000", name)
    return moment


def zoned_time(text: str, name: str) -> float:
    """Epoch seconds of an ISO-8601 time with its zone, else 400 naming ``name``."""
    try:
        moment = datetime.fromisoformat(text.strip().replace(" ", "+"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise bad_request(f"{name} must be ISO-8601 with a zone, e.g. 2024-03-28T15:00:00.000+0000;"
                          f" got {text!r}", name)
    return moment.timestamp()


def _business_date(text: str) -> int:
    try:
        day = datetime.strptime(text, "%Y%m%d")
    except ValueError:
        raise bad_request(f"businessDate must be yyyymmdd, got {text!r}", "businessDate") from None
    return day.year * 10000 + day.month * 100 + day.day


def int_query(query: Any, name: str, default: int, low: int, high: int) -> int:
    text = query.get(name)
    if text is None or text == "":
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise bad_request(f"{name} must be an integer {low}-{high}, got {text!r}", name)
    return int(text)


def _modified(text: str) -> float:
    """An order's modifiedDate (2024-04-01T15:09:30.223+0000) in epoch seconds; unreadable: -inf."""
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
    except ValueError:
        return float("-inf")
