"""Bad input at Toast's paths gets a 4xx in Toast's shape, never a 500."""

from __future__ import annotations

import pytest

from tests.toastapi.test_orders_api import error_shape

PATHS = ("/orders/v2/ordersBulk", "/orders/v2/orders/{guid}", "/partners/v1/restaurants",
         "/restaurant-availability/v1/availability", "/menus/v2/metadata", "/menus/v2/menus",
         "/stock/v1/inventory", "/ordermgmt-config/v1/published/orderingSchedule")
QUERIES = [
    "startDate=0001-01-01T00:00:00%2B01:00&endDate=9999-12-31T23:59:59.999-01:00",
    "startDate=2024-03-28T15:00:00.000%2B0000&endDate=2024-03-28T16:00:00.000%2B0000&page=99999999999999999999999",
    "startDate=%ff%fe&endDate=%00",
    "startDate=2024-03-28T15:00:00.000%2B9999&endDate=2024-03-29",
    "lastModified=0001-01-01T00:00:00%2B01:00",
    "lastModified=%ff",
    "status=%00",
    "pageSize=%D9%A1%D9%A0%D9%A0%D9%A0&startDate=2024-03-28T15:00:00Z&endDate=2024-03-28T16:00:00Z",
]


@pytest.mark.parametrize("query", QUERIES)
async def test_hostile_queries_are_4xx_in_toasts_shape(toast, query):
    restaurant = toast.dispatcher.service.restaurants[0].guid
    for path in PATHS:
        toast.dispatcher.clock.advance(1)   # under the rate limits
        url = path.replace("{guid}", "ABCDEF00-0000-4000-8000-000000000000") + "?" + query
        response = await toast.client.get(url, headers=toast.headers(restaurant))
        assert response.status < 500, (url, await response.text())
        if response.status >= 400:
            error_shape(await response.json(), response.status)


async def test_hostile_headers_and_bodies(toast):
    restaurant = toast.dispatcher.service.restaurants[0].guid
    for value in ("x" * 8000, restaurant.upper() + "\t", "../../etc/passwd", "é"):
        response = await toast.client.get("/menus/v2/metadata", headers={
            **toast.headers(), "Toast-Restaurant-External-ID": value})
        assert response.status in (200, 400, 403), value
        if response.status >= 400:
            error_shape(await response.json(), response.status)
    for body in (b"", b"[]", b'{"clientId": 1}', b"\xff\xfe", b'{"a":' * 10000, b"null"):
        response = await toast.client.post("/authentication/v1/authentication/login", data=body)
        assert response.status == 400, body[:20]
        error_shape(await response.json(), 400)
