"""GET /api/notifications and the sender's life with the app."""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from dispatcher.notifications import NOTIFICATION_SENDER, setup_notifications
from dispatcher.transitions import compose
from dispatcher.settings import SmtpSettings
from storage.notifications import Notification, NotificationStore
from storage.settings import StorageSettings
from storage.web import setup_database
from tests.notifications import AT, SmtpServer, Subscription, eventually, paused

Client = TestClient[Any, web.Application]
OTHER = Subscription(guid="other-guid", name="Menus", event_category="menus")


def build_app(storage: StorageSettings, smtp: SmtpSettings) -> web.Application:
    app = web.Application()
    setup_database(app, storage)
    setup_notifications(app, smtp, now=lambda: AT + 5)
    return app


@pytest.fixture
async def client(
    storage_settings: StorageSettings, aiohttp_client: Callable[[web.Application], Awaitable[Client]]
) -> Client:
    return await aiohttp_client(build_app(storage_settings, SmtpSettings(enabled=False)))


def store_of(client: Client) -> NotificationStore:
    return client.app[NOTIFICATION_SENDER].store


async def add_three(client: Client) -> list[Notification]:
    store = store_of(client)
    return [
        await store.add(paused(at=AT)),
        await store.add(paused(OTHER, at=AT + 60)),
        await store.add(compose("STOPPED", Subscription(), AT + 120, 50, 9)),
    ]


async def get_json(client: Client, query: str = "", status: int = 200) -> dict[str, Any]:
    response = await client.get(f"/api/notifications{query}")
    assert response.status == status
    body: dict[str, Any] = await response.json()
    return body


async def ids(client: Client, query: str) -> list[int]:
    return [item["id"] for item in (await get_json(client, query))["items"]]


async def test_lists_newest_first_in_camel_case(client: Client) -> None:
    first, _, third = await add_three(client)
    body = await get_json(client)
    assert [item["id"] for item in body["items"]] == [third.id, third.id - 1, first.id]
    assert body["nextCursor"] is None
    item = body["items"][-1]
    assert item == {
        "id": first.id,
        "kind": "PAUSED",
        "subscriptionGuid": Subscription.guid,
        "subscriptionName": "Stock",
        "eventCategory": "stock",
        "webhookUrl": Subscription.url,
        "recipient": "ops@example.test",
        "subject": first.subject,
        "body": first.body,
        "createdAt": "2024-03-28T15:11:01.050Z",
        "status": item["status"],  # PENDING or, once the (disabled) sender ran, DISABLED
        "attempts": 0,
        "lastError": None,
        "lastAttemptAt": None,
        "sentAt": None,
    }
    assert item["status"] in ("PENDING", "DISABLED")


async def test_filters(client: Client) -> None:
    first, second, third = await add_three(client)
    assert await ids(client, "?kind=STOPPED") == [third.id]
    assert await ids(client, "?kind=paused") == [second.id, first.id]
    assert await ids(client, "?subscription=other-guid") == [second.id]
    # from after to: an empty range, not an error (the schema cannot say "400 if from > to")
    assert await ids(client, "?from=2024-03-29T00:00:00Z&to=2024-03-28T00:00:00Z") == []
    assert await ids(client, "?from=2024-03-28T15:12:01.050Z") == [third.id, second.id]
    assert await ids(client, "?to=2024-03-28T15:12:01.050Z") == [first.id]
    assert await ids(client, "?from=2024-03-28T16:12:01%2B01:00&to=2024-03-28T15:13:00Z") == [second.id]
    assert await ids(client, "?kind=&subscription=") == [third.id, second.id, first.id]


async def test_pages_with_a_cursor(client: Client) -> None:
    added = await add_three(client)
    page = await get_json(client, "?limit=2")
    assert [item["id"] for item in page["items"]] == [added[2].id, added[1].id]
    assert isinstance(page["nextCursor"], str)
    page = await get_json(client, f"?limit=2&cursor={page['nextCursor']}")
    assert [item["id"] for item in page["items"]] == [added[0].id]
    assert page["nextCursor"] is None


@pytest.mark.parametrize(
    ("query", "field", "detail"),
    [
        ("?kind=RESUMED", "kind", "kind must be one of PAUSED, STOPPED, RESTARTED"),
        ("?limit=0", "limit", "limit must be an integer 1-500"),
        ("?limit=501", "limit", "limit must be an integer 1-500"),
        ("?limit=ten", "limit", "limit must be an integer 1-500"),
        ("?from=yesterday", "from", "from must be an ISO-8601 time"),
        ("?to=2024-03-28T15:71:01", "to", "to must be an ISO-8601 time"),
        ("?cursor=not-a-cursor", "cursor", "cursor is not one this API returned"),
        ("?cursor=MTcxMTYzODY2MS4wNTo0Mg==", "cursor", "cursor is not one this API returned"),
    ],
)
async def test_bad_parameters_are_400(client: Client, query: str, field: str, detail: str) -> None:
    body = await get_json(client, query, status=400)
    assert (body["error"], body["field"]) == ("invalid_input", field)
    assert body["detail"].startswith(detail)


async def test_the_sender_runs_with_the_app_and_mails_when_woken(
    storage_settings: StorageSettings, smtp: SmtpServer, smtp_settings: SmtpSettings
) -> None:
    app = build_app(storage_settings, replace(smtp_settings, retry_interval=3600.0))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with TestClient(TestServer(app)) as client:
            sender = client.app[NOTIFICATION_SENDER]
            assert sender.running
            notification = await sender.store.add(paused())
            sender.wake()
            await eventually(lambda: len(smtp.received) == 1)
            await eventually(lambda: _sent(client, notification.id))
        assert not sender.running
    assert [str(w.message) for w in caught] == []
    assert smtp.received[0].message["Subject"] == notification.subject


async def _sent(client: Client, id_: int) -> bool:
    return bool((await get_json(client, "?limit=1"))["items"][0]["sentAt"] == "2024-03-28T15:11:06.050Z")

