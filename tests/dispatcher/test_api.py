"""The admin API over real HTTP: shapes, validation, pagination, and never a 500 for bad input."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import signing
from dispatcher.app import ENGINE, setup_dispatcher
from dispatcher.clock import FakeClock
from dispatcher.settings import BackoffSettings, SmtpSettings
from storage.web import setup_database
from storage.settings import StorageSettings
from tests.dispatcher.conftest import FAST

GUID = "6b1b3c4e-2f0a-4d2b-9c55-0a1b2c3d4e5f"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def api(aiohttp_client, storage_settings: StorageSettings, clock: FakeClock):
    app = web.Application()
    setup_database(app, replace(storage_settings, synchronous="normal"))
    setup_dispatcher(app, replace(FAST, enabled=False), BackoffSettings(), SmtpSettings(), clock)
    return await aiohttp_client(app)


async def create(api, **overrides):
    body = {"eventCategory": "stock", "url": "http://127.0.0.1:9/hook",
            "notificationEmail": "dev@example.com", **overrides}
    resp = await api.post("/api/subscriptions", json=body)
    return resp.status, await resp.json()


async def test_create_returns_the_full_subscription(api) -> None:
    status, sub = await create(api)
    assert status == 201
    assert sub["name"] == "Stock" and sub["eventCategory"] == "stock"
    assert sub["status"] == "ACTIVE" and len(sub["secret"]) == 32
    assert sub["createdDate"].endswith("Z")
    resp = await api.get(f"/api/subscriptions/{sub['guid']}")
    assert await resp.json() == sub
    listed = await (await api.get("/api/subscriptions")).json()
    assert [s["guid"] for s in listed["items"]] == [sub["guid"]]


@pytest.mark.parametrize(("overrides", "field"), [
    ({"eventCategory": "order_updated"}, "eventCategory"),
    ({"url": "ftp://example.com/x"}, "url"),
    ({"url": "not a url"}, "url"),
    ({"url": None}, "url"),
    ({"notificationEmail": "nobody"}, "notificationEmail"),
    ({"notificationEmail": "a@b.com\r\nBcc: x@y.z"}, "notificationEmail"),
    ({"name": ""}, None),
    ({"colour": "red"}, "colour"),
])
async def test_invalid_subscriptions_are_400_naming_the_field(api, overrides, field) -> None:
    status, body = await create(api, **overrides)
    if field is None:   # an empty name means "fill from the category"
        assert status == 201 and body["name"] == "Stock"
        return
    assert status == 400 and body["error"] == "invalid_input" and body["field"] == field


async def test_edit_changes_url_name_email_but_never_the_category(api) -> None:
    _, sub = await create(api)
    resp = await api.patch(f"/api/subscriptions/{sub['guid']}",
                           json={"url": "https://example.com/new", "name": "Mine"})
    edited = await resp.json()
    assert resp.status == 200 and edited["url"] == "https://example.com/new"
    assert edited["name"] == "Mine" and edited["secret"] == sub["secret"]
    resp = await api.patch(f"/api/subscriptions/{sub['guid']}", json={"eventCategory": "menus"})
    body = await resp.json()
    assert resp.status == 400 and body["field"] == "eventCategory"
    assert "cannot be changed" in body["detail"]


async def test_missing_things_are_404_and_restart_of_active_is_409(api) -> None:
    for method, path in [("GET", f"/api/subscriptions/{GUID}"),
                         ("DELETE", f"/api/subscriptions/{GUID}"),
                         ("GET", f"/api/deliveries/{GUID}"),
                         ("POST", f"/api/deliveries/{GUID}/replay"),
                         ("GET", f"/api/subscriptions/{GUID}/backoff"),
                         ("GET", f"/api/subscriptions/{GUID}/deliveries")]:
        resp = await api.request(method, path)
        assert resp.status == 404, (method, path)
        assert (await resp.json())["error"] == "not_found"
    _, sub = await create(api)
    resp = await api.post(f"/api/subscriptions/{sub['guid']}/restart")
    assert resp.status == 409 and (await resp.json())["error"] == "conflict"


async def test_delete_removes_the_subscription(api) -> None:
    _, sub = await create(api)
    deleted = await api.delete(f"/api/subscriptions/{sub['guid']}")
    assert (deleted.status, await deleted.read()) == (204, b"")
    gone = await api.get(f"/api/subscriptions/{sub['guid']}")
    assert (gone.status, (await gone.json())["error"]) == (404, "not_found")
    assert (await (await api.get("/api/subscriptions")).json())["items"] == []


async def test_events_fan_out_and_deliveries_list_newest_first_with_a_cursor(api, clock) -> None:
    _, sub = await create(api)
    guids = []
    for _ in range(5):
        resp = await api.post("/api/events", json={"eventCategory": "stock"})
        assert resp.status == 202
        guids += (await resp.json())["eventGuids"]
        clock.advance(1)
    page = await (await api.get(f"/api/subscriptions/{sub['guid']}/deliveries?limit=2")).json()
    assert [d["eventGuid"] for d in page["items"]] == guids[::-1][:2]
    seen = [d["eventGuid"] for d in page["items"]]
    while page["nextCursor"]:
        page = await (await api.get(f"/api/subscriptions/{sub['guid']}/deliveries",
                                    params={"limit": 2, "cursor": page["nextCursor"]})).json()
        seen += [d["eventGuid"] for d in page["items"]]
    assert seen == guids[::-1]
    first = page["items"][-1]
    assert first["status"] == "PENDING" and first["attempts"] == 0
    assert first["routeKey"].startswith("stock.")
    body = first["body"].encode()
    assert signing.verify(sub["secret"], body, first["signature"]) == sub["secret"]
    detail = await (await api.get(f"/api/deliveries/{first['webhookGuid']}")).json()
    assert detail["attemptHistory"] == [] and detail["eventGuid"] == guids[0]


async def test_delivery_filters(api, clock) -> None:
    _, sub = await create(api)
    start = clock.now()
    await api.post("/api/events", json={"eventCategory": "stock", "count": 3})
    clock.advance(7200)
    await api.post("/api/events", json={"eventCategory": "stock", "count": 2})
    base = f"/api/subscriptions/{sub['guid']}/deliveries"

    async def count(**params) -> int:
        resp = await api.get(base, params=params)
        assert resp.status == 200, await resp.text()
        return len((await resp.json())["items"])

    assert await count() == 5
    assert await count(status="PENDING") == 5 and await count(status="Success") == 0
    assert await count(status="Not sent") == 0 and await count(status="All") == 5
    assert await count(period="1h") == 2
    from dispatcher.clock import iso
    assert await count(**{"from": iso(start), "to": iso(start + 1)}) == 3


@pytest.mark.parametrize("params", [
    {"status": "DONE"}, {"limit": "0"}, {"limit": "abc"}, {"limit": "100000"},
    {"from": "yesterday"}, {"to": "2024-01-01T25:00:00"}, {"cursor": "!!!"}, {"period": "2w"},
])
async def test_bad_delivery_query_parameters_are_400(api, params) -> None:
    _, sub = await create(api)
    resp = await api.get(f"/api/subscriptions/{sub['guid']}/deliveries", params=params)
    assert resp.status == 400
    assert (await resp.json())["field"] == next(iter(params))


@pytest.mark.parametrize(("body", "field"), [
    ({"eventCategory": "stock", "count": 0}, "count"),
    ({"eventCategory": "stock", "count": "3"}, "count"),
    ({"eventCategory": "stock", "eventType": "menus_updated"}, "eventType"),
    ({"eventCategory": "stock", "eventType": "in_stock", "details": {"quantity": 3.0,
                                                                     "status": "QUANTITY"}},
     "details.quantity"),
    ({"eventCategory": "stock", "details": []}, "details"),
    ({"eventCategory": "nope"}, "eventCategory"),
    ({"eventCategory": "menus", "large": True}, "large"),
    ({"eventCategory": "orders", "large": "yes"}, "large"),
    ({"eventCategory": "orders", "large": True, "count": 2}, "count"),
    ({"eventCategory": "menus", "snooze": "20m"}, "eventCategory"),
    ({"eventCategory": "restaurant_availability_toggle", "snooze": "1h"}, "snooze"),
    ({"eventCategory": "restaurant_availability_toggle", "snooze": ["20m"]}, "snooze"),
    ({"eventCategory": "restaurant_availability_toggle", "snooze": "20m", "count": 2}, "count"),
    ({"eventCategory": "restaurant_availability_toggle", "snooze": "20m", "restaurantGuid": "x"},
     "restaurantGuid"),
])
async def test_invalid_events_are_400_naming_the_field(api, body, field) -> None:
    resp = await api.post("/api/events", json=body)
    assert resp.status == 400
    assert (await resp.json())["field"] == field


async def test_explicit_details_are_merged_over_generated_ones(api) -> None:
    _, sub = await create(api)
    resp = await api.post("/api/events", json={
        "eventCategory": "stock", "eventType": "low_quantity",
        "details": {"quantity": 2.0, "status": "QUANTITY"}})
    assert resp.status == 202
    page = await (await api.get(f"/api/subscriptions/{sub['guid']}/deliveries")).json()
    details = json.loads(page["items"][0]["body"])["details"]
    assert details["quantity"] == 2.0 and details["itemGuid"]


async def test_large_makes_one_catering_order_over_600_kb(api) -> None:
    _, sub = await create(api, eventCategory="orders")
    resp = await api.post("/api/events", json={"eventCategory": "orders", "large": True})
    assert resp.status == 202
    page = await (await api.get(f"/api/subscriptions/{sub['guid']}/deliveries")).json()
    body = page["items"][0]["body"].encode()
    assert len(body) > 600 * 1024
    envelope = json.loads(body)
    assert envelope["eventCategory"] == envelope["eventType"] == "order_updated"
    assert envelope["details"]["order"]["source"] == "Catering"


async def test_snooze_makes_the_offline_and_the_later_online_toggle(api) -> None:
    resp = await api.post("/api/events", json={"eventCategory": "restaurant_availability_toggle",
                                               "snooze": "40m"})
    assert resp.status == 202
    assert len((await resp.json())["eventGuids"]) == 2


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b"null", b"\xff\xfe", b'{"a": NaN}'])
async def test_malformed_bodies_are_400(api, raw) -> None:
    for path in ("/api/subscriptions", "/api/events"):
        resp = await api.post(path, data=raw, headers={"Content-Type": "application/json"})
        answer = await resp.json()
        assert resp.status == 400, (path, raw)
        assert answer["error"] in ("invalid_json", "invalid_input") and answer["detail"], answer


async def test_backoff_view_shape(api) -> None:
    _, sub = await create(api)
    body = await (await api.get(f"/api/subscriptions/{sub['guid']}/backoff")).json()
    assert body == {"status": "ACTIVE", "errorsInWindow": 0, "pausesInWindow": 0,
                    "pausedUntil": None, "history": []}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=3),
    max_leaves=10)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.dictionaries(st.sampled_from(["eventCategory", "url", "name", "notificationEmail",
                                             "eventType", "count", "details", "restaurantGuid"]),
                            json_values, max_size=5))
async def test_arbitrary_json_never_gets_a_5xx(api, body) -> None:
    for path in ("/api/subscriptions", "/api/events"):
        resp = await api.post(path, json=body)
        assert resp.status < 500, (path, body, await resp.text())
        if resp.status >= 400:   # a refusal says why, in the one error shape
            answer = await resp.json()
            assert answer["error"] and answer["detail"], answer


async def test_engine_is_not_started_when_disabled(api) -> None:
    assert api.app[ENGINE].in_flight == 0
