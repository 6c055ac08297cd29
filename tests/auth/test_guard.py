"""The token guard: every /api route but login refuses a missing, bad or expired token."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from dispatcher.clock import FakeClock
from hooksim.app import build_app
from hooksim.config import load_settings
from tests.auth.conftest import TTL, MakeApp
from tests.auth.helpers import api_routes, assert_api_routes_guarded, bearer_headers

SAMPLE_ROUTES = [
    ("GET", "/api/credentials"), ("GET", "/api/activity"), ("POST", "/api/credentials/rotate"),
    ("GET", "/api/sample/abc"), ("POST", "/api/sample"), ("GET", "/api/no-such-route"),
    ("GET", "/api"), ("GET", "/api/authentication/login/"),
]


async def ok(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def refused(client: Any, method: str, path: str, headers: dict[str, str]) -> str:
    response = await client.request(method, path, headers=headers)
    assert response.status == 401, (method, path, response.status)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    body = await response.json()
    assert set(body) == {"error", "detail"} and body["detail"]
    return body["error"]


@pytest.mark.parametrize(("headers", "error"), [
    ({}, "missing_token"),
    ({"Authorization": "Basic dXNlcjpwYXNz"}, "malformed_authorization"),
    ({"Authorization": "Bearer"}, "malformed_authorization"),
    ({"Authorization": "Bearer two words"}, "malformed_authorization"),
    ({"Authorization": "Bearer unknown-token"}, "invalid_token"),
])
async def test_requests_without_a_valid_token_are_refused(client: Any, headers: dict[str, str],
                                                          error: str) -> None:
    for method, path in SAMPLE_ROUTES:
        assert await refused(client, method, path, headers) == error


async def test_a_token_works_until_it_expires(client: Any, clock: FakeClock) -> None:
    headers = await bearer_headers(client)
    assert (await client.get("/api/sample/abc", headers=headers)).status == 200
    assert (await client.get("/api/no-such-route", headers=headers)).status == 404
    clock.advance(TTL - 1)
    assert (await client.get("/api/sample/abc", headers=headers)).status == 200
    clock.advance(1)
    for method, path in SAMPLE_ROUTES:
        assert await refused(client, method, path, headers) == "token_expired"


@pytest.mark.parametrize("raw", [b"Bearer \xff\xfe", b"Bearer tok\x80en", b"\xff \xff"])
async def test_undecodable_header_bytes_are_a_401_not_a_500(client: Any, raw: bytes) -> None:
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    writer.write(b"GET /api/credentials HTTP/1.1\r\nHost: hooksim\r\nAuthorization: " + raw
                 + b"\r\nConnection: close\r\n\r\n")
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    assert answer.startswith(b"HTTP/1.1 401 "), answer[:200]


async def test_the_scheme_is_case_insensitive(client: Any) -> None:
    token = (await bearer_headers(client))["Authorization"].split()[1]
    response = await client.get("/api/sample/abc", headers={"Authorization": f"bearer {token}"})
    assert (response.status, await response.json()) == (200, {"ok": True})


async def test_paths_outside_api_are_not_guarded(client: Any) -> None:
    for path in ("/hooks/orders", "/healthz"):
        response = await client.get(path)
        assert (response.status, await response.json()) == (200, {"ok": True}), path


async def test_every_api_route_of_the_sample_app_is_guarded(client: Any) -> None:
    checked = await assert_api_routes_guarded(client.app, client)
    assert ("GET", "/api/sample/00000000-0000-0000-0000-000000000000") in checked
    assert ("POST", "/api/credentials/rotate") in checked and ("GET", "/api/activity") in checked
    assert all(path != "/api/authentication/login" for _, path in checked)


async def test_sub_apps_are_walked_too(aiohttp_client: Any,
                                       make_app: MakeApp) -> None:
    app = make_app()
    sub = web.Application()
    sub.router.add_delete("/things/{id:[0-9]+}", ok)
    app.add_subapp("/api/v2", sub)
    client = await aiohttp_client(app)
    assert ("DELETE", "/api/v2/things/00000000-0000-0000-0000-000000000000") in api_routes(app)
    await assert_api_routes_guarded(app, client)


async def test_the_walk_catches_an_unguarded_route(aiohttp_client: Any) -> None:
    app = web.Application()
    app.router.add_get("/api/open", ok)
    client = await aiohttp_client(app)
    with pytest.raises(AssertionError, match="GET /api/open"):
        await assert_api_routes_guarded(app, client)


async def test_every_api_route_of_the_real_app_is_guarded(aiohttp_client: Any,
                                                          tmp_path: Path) -> None:
    settings = load_settings(environ={}, overrides={
        "storage": {"path": str(tmp_path / "hooksim.db")},
        "auth": {"credentials_file": str(tmp_path / "credentials.json")},
        "demo": {"enabled": False},
        "dispatcher": {"enabled": False},
    })
    app = build_app(settings)
    client = await aiohttp_client(app)
    checked = await assert_api_routes_guarded(app, client)
    assert ("GET", "/api/credentials") in checked
