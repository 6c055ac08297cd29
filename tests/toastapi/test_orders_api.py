"""The login, the guard and the orders API at Toast's paths, read from the events the platform
made, in Toast's shapes (validated against Toast's published specs when they are present)."""

from __future__ import annotations

import json
from typing import Any

from dispatcher.clock import iso
from tests.toastapi.conftest import Toast, login, toast_app
from tests.toastapi.schemas import validate
from toastapi import LOGIN_PATH
from toastapi.settings import ToastApiSettings

GUEST_FIELDS = ("firstName", "lastName", "phone", "phoneCountryCode", "email")
ADDRESS_FIELDS = ("address1", "city", "state", "zipCode", "country", "latitude", "longitude")


def toast_time(at: float) -> str:
    return iso(at).replace("Z", "+0000")


async def make_orders(toast: Toast, count: int, restaurant: str) -> list[dict[str, Any]]:
    """``count`` orders events one platform second apart; their bodies' orders, in order."""
    made = []
    for _ in range(count):
        events = await toast.dispatcher.service.send_events(category="orders",
                                                            restaurant_guid=restaurant)
        made += [e.details["order"] for e in events]
        toast.dispatcher.clock.advance(1)
    return made


def without_guest_data(order: dict[str, Any]) -> dict[str, Any]:
    """The API's order with what the webhook leaves out blanked again, as the webhook has it."""
    copy = json.loads(json.dumps(order))
    for check in copy["checks"]:
        if check["customer"] is not None:
            check["customer"].update(dict.fromkeys(GUEST_FIELDS))
    if copy["deliveryInfo"] is not None:
        copy["deliveryInfo"].update(dict.fromkeys(ADDRESS_FIELDS))
    return copy


def error_shape(body: dict[str, Any], status: int) -> None:
    assert body["status"] == status and isinstance(body["code"], int) and body["message"]
    assert set(body) == {"status", "code", "message", "messageKey", "fieldName", "link",
                         "requestId", "developerMessage", "errors", "canRetry"}


async def test_login_gives_toasts_authentication_response_and_refuses_bad_credentials(toast):
    client = toast.client
    body = await (await client.post(LOGIN_PATH, json={
        "clientId": "nobody", "clientSecret": "wrong", "userAccessType": "TOAST_MACHINE_CLIENT"})).json()
    error_shape(body, 401)
    response = await client.post(LOGIN_PATH, json={"clientId": "x", "clientSecret": "y"})
    assert response.status == 400
    error_shape(await response.json(), 400)
    response = await client.post(LOGIN_PATH, data=b"not json")
    assert response.status == 400
    token = await login(client)
    assert token != toast.token   # a fresh token each login
    response = await client.get("/orders/v2/ordersBulk", headers={"Authorization": f"Bearer {token}"})
    assert response.status == 400   # authenticated; the restaurant header is what is missing


async def test_authentication_response_matches_toasts_spec(toast):
    from hooksim.auth import CREDENTIAL_STORE
    record = await toast.client.app[CREDENTIAL_STORE].client()
    response = await toast.client.post(LOGIN_PATH, json={
        "clientId": record.client_id, "clientSecret": record.client_secret,
        "userAccessType": "TOAST_MACHINE_CLIENT"})
    body = await response.json()
    assert body["status"] == "SUCCESS" and body["token"]["tokenType"] == "Bearer"
    assert body["token"]["expiresIn"] == 3600
    validate("authentication.yaml", "AuthenticationResponse", body)


async def test_guard_401_400_403_in_toasts_error_shape(toast):
    restaurant = toast.dispatcher.service.restaurants[0].guid
    client = toast.client
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic abc"}):
        response = await client.get("/orders/v2/ordersBulk",
                                    headers={**headers, "Toast-Restaurant-External-ID": restaurant})
        assert response.status == 401
        error_shape(await response.json(), 401)
    body = await toast.get("/orders/v2/ordersBulk", None, 400)
    error_shape(body, 400)
    assert body["fieldName"] == "Toast-Restaurant-External-ID"
    await toast.get("/orders/v2/ordersBulk", "not-a-guid", 400)
    stranger = "00000000-1111-4222-8333-444444444444"
    error_shape(await toast.get(f"/orders/v2/orders/{stranger}", stranger, 403), 403)
    # Once an event was about it (a stand-in restaurant), its state is readable like any other.
    order = (await make_orders(toast, 1, stranger))[0]
    assert (await toast.get(f"/orders/v2/orders/{order['guid']}", stranger))["guid"] == order["guid"]


async def test_a_removed_partner_loses_access(toast):
    restaurant = toast.dispatcher.service.restaurants[1].guid
    await make_orders(toast, 1, restaurant)
    start, end = toast_time(toast.dispatcher.clock.now() - 60), toast_time(toast.dispatcher.clock.now() + 60)
    assert len(await toast.get("/orders/v2/ordersBulk", restaurant, startDate=start, endDate=end)) == 1
    await toast.dispatcher.service.send_events(category="partner", event_type="partner_removed",
                                               details={"restaurantGuid": restaurant})
    await toast.get("/orders/v2/ordersBulk", restaurant, 403, startDate=start, endDate=end)
    toast.dispatcher.clock.advance(1)
    await toast.dispatcher.service.send_events(category="partner", event_type="partner_added",
                                               details={"restaurantGuid": restaurant})
    assert len(await toast.get("/orders/v2/ordersBulk", restaurant, startDate=start, endDate=end)) == 1


async def test_missing_scope_is_403(dispatcher, aiohttp_client, tmp_path):
    settings = ToastApiSettings(scopes=("menus:read",))
    client = await aiohttp_client(toast_app(dispatcher, tmp_path, settings))
    token = await login(client)
    restaurant = dispatcher.service.restaurants[0].guid
    response = await client.get("/orders/v2/ordersBulk", headers={
        "Authorization": f"Bearer {token}", "Toast-Restaurant-External-ID": restaurant})
    assert response.status == 403
    body = await response.json()
    error_shape(body, 403)
    assert "orders:read" in body["message"]


async def test_order_by_guid_is_the_latest_webhook_order_with_the_guest_data(toast):
    restaurant = toast.dispatcher.service.restaurants[0].guid
    made = await make_orders(toast, 40, restaurant)
    latest = {order["guid"]: order for order in made}   # each order's newest state
    guests = deliveries = 0
    for guid, webhook_order in latest.items():
        order = await toast.get(f"/orders/v2/orders/{guid}", restaurant)
        validate("orders.yaml", "Order", order)
        assert without_guest_data(order) == webhook_order
        for check in order["checks"]:
            if check["customer"] is not None:
                guests += 1
                assert all(check["customer"][f] for f in ("firstName", "lastName", "phone", "email"))
        if order["deliveryInfo"] is not None:
            deliveries += 1
            assert order["deliveryInfo"]["address1"] and order["deliveryInfo"]["zipCode"]
    assert guests and deliveries   # the run had online and delivery orders to prove it on
    # The same answer twice: guest data is derived, not drawn per request.
    guid = next(iter(latest))
    assert (await toast.get(f"/orders/v2/orders/{guid}", restaurant)) == \
        (await toast.get(f"/orders/v2/orders/{guid}", restaurant))
    error_shape(await toast.get("/orders/v2/orders/not-a-guid", restaurant, 400), 400)
    missing = "00000000-1111-4222-8333-444444444444"
    error_shape(await toast.get(f"/orders/v2/orders/{missing}", restaurant, 404), 404)
    other = toast.dispatcher.service.restaurants[1].guid
    await toast.get(f"/orders/v2/orders/{guid}", other, 404)   # another restaurant's order


async def test_without_guest_scopes_the_guest_data_is_left_out(dispatcher, aiohttp_client, tmp_path):
    settings = ToastApiSettings(scopes=("orders:read",))
    client = await aiohttp_client(toast_app(dispatcher, tmp_path, settings))
    toast = Toast(client, dispatcher, await login(client))
    restaurant = dispatcher.service.restaurants[0].guid
    made = await make_orders(toast, 30, restaurant)
    for guid in {order["guid"] for order in made}:
        order = await toast.get(f"/orders/v2/orders/{guid}", restaurant)
        assert all(check["customer"] is None for check in order["checks"])
        assert order["deliveryInfo"] is None


async def test_orders_bulk_windows_by_modified_time_and_pages(toast):
    clock = toast.dispatcher.clock
    restaurant = toast.dispatcher.service.restaurants[0].guid
    start_at = clock.now()
    made = await make_orders(toast, 30, restaurant)
    middle = clock.now()
    made += await make_orders(toast, 30, restaurant)
    latest = {order["guid"]: order for order in made}
    window = {"startDate": toast_time(start_at), "endDate": toast_time(clock.now() + 1)}
    everything = await toast.get("/orders/v2/ordersBulk", restaurant, **window)
    assert sorted(o["guid"] for o in everything) == sorted(latest)
    assert all(without_guest_data(o) == latest[o["guid"]] for o in everything)
    # Pages of 7 cover the same orders once each; the Link header leads to the next page.
    seen, page = [], 1
    while True:
        response = await toast.client.get("/orders/v2/ordersBulk", headers=toast.headers(restaurant),
                                          params={**window, "pageSize": 7, "page": page})
        assert response.status == 200
        items = await response.json()
        seen += [o["guid"] for o in items]
        if "Link" not in response.headers:
            break
        assert f"page={page + 1}" in response.headers["Link"]
        assert len(items) == 7
        page += 1
        clock.advance(1)   # stay under the rate limit
    assert sorted(seen) == sorted(latest)
    # Only the orders whose newest modifiedDate falls in [start, end).
    late = await toast.get("/orders/v2/ordersBulk", restaurant, startDate=toast_time(middle),
                           endDate=toast_time(clock.now() + 1))
    expected = {g for g, o in latest.items() if o["modifiedDate"] >= toast_time(middle)}
    assert {o["guid"] for o in late} == expected and 0 < len(expected) < len(latest)


async def test_orders_bulk_by_business_date(toast):
    clock = toast.dispatcher.clock
    restaurant = toast.dispatcher.service.restaurants[0].guid
    made = await make_orders(toast, 12, restaurant)
    clock.advance(2 * 86400)   # two days on: other business days
    made += await make_orders(toast, 12, restaurant)
    latest = {order["guid"]: order for order in made}
    days = {order["businessDate"] for order in latest.values()}
    assert len(days) >= 2
    for day in days:
        clock.advance(1)
        shown = await toast.get("/orders/v2/ordersBulk", restaurant, businessDate=str(day))
        assert {o["guid"] for o in shown} == {g for g, o in latest.items() if o["businessDate"] == day}


async def test_orders_bulk_rejects_bad_queries(toast):
    restaurant = toast.dispatcher.service.restaurants[0].guid
    now = toast.dispatcher.clock.now()
    good = {"startDate": toast_time(now - 60), "endDate": toast_time(now)}
    cases = [{}, {"startDate": good["startDate"]}, {**good, "startDate": "yesterday"},
             {**good, "startDate": "2024-03-28T15:00:00"},   # no zone
             {"startDate": good["endDate"], "endDate": good["startDate"]},
             {**good, "pageSize": "101"}, {**good, "pageSize": "0"}, {**good, "page": "0"},
             {**good, "page": "x"}, {**good, "businessDate": "20240328"},
             {"businessDate": "2024-03-28"}, {"businessDate": "20241399"}]
    for params in cases:
        body = await toast.get("/orders/v2/ordersBulk", restaurant, 400, **params)
        error_shape(body, 400)
        toast.dispatcher.clock.advance(1)
    # A "+" left unencoded arrives as a space and still reads as the offset it was.
    response = await toast.client.get(
        f"/orders/v2/ordersBulk?startDate={good['startDate']}&endDate={good['endDate']}",
        headers=toast.headers(restaurant))
    assert response.status == 200


async def test_orders_bulk_allows_5_per_restaurant_per_platform_second(toast):
    clock = toast.dispatcher.clock
    first, second = (r.guid for r in toast.dispatcher.service.restaurants[:2])
    now = clock.now()
    window = {"startDate": toast_time(now - 60), "endDate": toast_time(now + 60)}
    clock.set(float(int(now)) + 1)   # the start of a platform second
    for remaining in (4, 3, 2, 1, 0):
        response = await toast.client.get("/orders/v2/ordersBulk", params=window,
                                          headers=toast.headers(first))
        assert response.status == 200 and "Retry-After" not in response.headers
        assert response.headers["X-Toast-RateLimit-Remaining"] == str(remaining)
    response = await toast.client.get("/orders/v2/ordersBulk", params=window, headers=toast.headers(first))
    assert response.status == 429
    error_shape(await response.json(), 429)
    assert response.headers["Retry-After"] == "1"
    assert response.headers["X-Toast-RateLimit-By"] == "ENDPOINT"
    assert response.headers["X-Toast-RateLimit-Reset"] == str(int(clock.now()) + 1)
    # Another restaurant has its own allowance; the same one gets a new one a platform second on.
    assert (await toast.client.get("/orders/v2/ordersBulk", params=window,
                                   headers=toast.headers(second))).status == 200
    clock.advance(0.5)
    assert (await toast.client.get("/orders/v2/ordersBulk", params=window,
                                   headers=toast.headers(first))).status == 429
    clock.advance(0.5)
    assert (await toast.client.get("/orders/v2/ordersBulk", params=window,
                                   headers=toast.headers(first))).status == 200
