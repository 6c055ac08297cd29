"""Every JSON route of the whole app speaks the one error shape (web.errors): walked from the
router table with bad query parameters and a bad body, each answer is a success or
``{"error": <a code of web.errors.CODES>, "detail": text, "field"?: name}`` with that code's
status; never a 500, never another shape."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from hooksim.app import build_app
from hooksim.auth import CREDENTIAL_STORE, LOGIN_PATH, is_guarded
from hooksim.config import load_settings
from storage.settings import StorageSettings
from web.errors import CODES

#: One bad value for every query parameter any route reads.
BAD_QUERY = {"limit": "abc", "from": "yesterday", "to": "2024-13-01", "cursor": "!!!",
             "status": "DONE", "period": "2w", "minutes": "x", "kind": "NOPE",
             "verified": "maybe", "duplicate": "2", "format": "xml"}
UNKNOWN = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
async def client(tmp_path: Path, storage_settings: StorageSettings
                 ) -> AsyncIterator[TestClient[Any, Any]]:
    settings = load_settings(environ={}, overrides={
        "storage": {**dataclasses.asdict(storage_settings), "synchronous": "normal"},
        "auth": {"credentials_file": str(tmp_path / "credentials.json")},
        "demo": {"enabled": False}, "dispatcher": {"enabled": False},
        "receiver": {"enabled": True, "endpoints": [{"name": "orders", "secrets": []}]},
    })
    client = TestClient(TestServer(build_app(settings)))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


async def _headers(client: TestClient[Any, Any]) -> dict[str, str]:
    record = await client.app[CREDENTIAL_STORE].client()
    assert record is not None
    login = await client.post(LOGIN_PATH, json={"clientId": record.client_id,
                                                "clientSecret": record.client_secret})
    return {"Authorization": f"Bearer {(await login.json())['accessToken']}"}


async def _subscription(client: TestClient[Any, Any], headers: dict[str, str]) -> str:
    made = await client.post("/api/subscriptions", headers=headers, json={
        "eventCategory": "menus", "url": "http://127.0.0.1:9/hook",
        "notificationEmail": "owner@example.com"})
    assert made.status == 201, await made.text()
    return (await made.json())["guid"]


def _routes(client: TestClient[Any, Any]) -> list[tuple[str, str]]:
    """(method, path template) of every JSON route under /api."""
    found = []
    for route in client.app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if path.startswith("/api/") and route.method not in ("HEAD", "OPTIONS"):
            found.append((route.method, path))
    return sorted(set(found))


def _concrete(method: str, template: str, guid: str) -> str:
    """A path to a real subscription (an unknown one for DELETE, which would remove it), the
    configured endpoint, an unknown message and delivery."""
    names = {"guid": UNKNOWN if method == "DELETE" else guid, "name": "orders", "id": "1",
             "webhook_guid": UNKNOWN}
    return re.sub(r"\{([^}]*)\}", lambda m: names.get(m.group(1), UNKNOWN), template)


def _check_shape(method: str, path: str, status: int, body: Any) -> None:
    where = f"{method} {path}: {status} {body!r}"
    assert isinstance(body, dict) and {"error", "detail"} <= set(body) <= {
        "error", "detail", "field"}, where
    assert body["error"] in CODES and CODES[body["error"]] == status, where
    assert isinstance(body["detail"], str) and body["detail"], where
    assert isinstance(body.get("field", ""), str), where


async def test_every_route_answers_bad_input_in_the_one_shape(
        client: TestClient[Any, Any]) -> None:
    headers = await _headers(client)
    guid = await _subscription(client, headers)
    routes = _routes(client)
    assert len(routes) > 25, routes   # the admin, auth, notification, portal and receiver APIs
    refused = 0
    for method, template in routes:
        path = _concrete(method, template, guid)
        if not is_guarded(path) and path != LOGIN_PATH:   # pragma: no cover
            continue
        body = b"{not json" if method in ("POST", "PUT", "PATCH") else None
        async with client.request(method, path, params=BAD_QUERY, data=body,
                                  headers={**headers, "Content-Type": "application/json"}
                                  ) as answer:
            assert answer.status != 500, f"{method} {path}"
            if answer.status < 400:   # a route that reads none of these parameters nor a body
                continue
            assert answer.content_type == "application/json", f"{method} {path}"
            _check_shape(method, path, answer.status, await answer.json())
            refused += 1
            if body is not None and answer.status == 400:
                assert (await answer.json())["error"] == "invalid_input"
    assert refused > 20


async def test_each_bad_parameter_is_named_in_field(client: TestClient[Any, Any]) -> None:
    """One bad parameter at a time, on the routes that read it: 400 naming it."""
    headers = await _headers(client)
    guid = await _subscription(client, headers)
    readers = {
        f"/api/subscriptions/{guid}/deliveries": ["limit", "from", "to", "cursor", "status",
                                                  "period"],
        f"/api/subscriptions/{guid}/deliveries/export": ["from", "to", "status", "format"],
        f"/api/subscriptions/{guid}/backoff/errors": ["minutes"],
        "/api/notifications": ["limit", "from", "to", "cursor", "kind"],
        "/api/activity": ["limit", "from", "to"],
        "/api/restaurants": ["from", "to"],
        "/api/restaurants/export.csv": ["from", "to"],
        "/api/messages": ["limit", "from", "to", "cursor", "verified", "duplicate"],
        "/api/messages/export": ["from", "to", "verified", "duplicate", "format"],
    }
    for path, names in readers.items():
        for name in names:
            answer = await client.get(path, params={name: BAD_QUERY[name]}, headers=headers)
            body = await answer.json()
            assert (answer.status, body["error"], body.get("field")) == (
                400, "invalid_input", name), (path, name, body)


async def test_a_path_or_method_no_route_has_is_the_same_shape(
        client: TestClient[Any, Any]) -> None:
    """The router's own 404 and 405 under /api, once past the token guard; elsewhere untouched."""
    headers = await _headers(client)
    answer = await client.get("/api/no-such-route", headers=headers)
    _check_shape("GET", "/api/no-such-route", answer.status, await answer.json())
    assert (await answer.json())["error"] == "not_found"
    answer = await client.delete("/api/activity", headers=headers)
    _check_shape("DELETE", "/api/activity", answer.status, await answer.json())
    assert answer.status == 405 and "GET" in answer.headers["Allow"]
    outside = await client.get("/no-such-page")
    assert outside.status == 404 and outside.content_type != "application/json"


async def test_an_empty_parameter_is_its_default_everywhere(client: TestClient[Any, Any]) -> None:
    headers = await _headers(client)
    guid = await _subscription(client, headers)
    for path in (f"/api/subscriptions/{guid}/deliveries", "/api/notifications", "/api/activity",
                 "/api/messages", f"/api/subscriptions/{guid}/backoff/errors"):
        empty = {"limit": "", "minutes": "", "from": "", "to": "", "cursor": ""}
        answer = await client.get(path, params=empty, headers=headers)
        assert answer.status == 200, (path, await answer.text())
        default = await client.get(path, headers=headers)   # the same answer, but for when
        now_left_out = [{k: v for k, v in (await a.json()).items() if k != "now"}
                        for a in (answer, default)]
        assert now_left_out[0] == now_left_out[1], path
