"""Helpers for any suite that serves hooksim's ``/api``.

- ``await bearer_headers(client)``: log in to a test client's app, get ``Authorization`` headers.
- ``await assert_api_routes_guarded(app, client)``: walk the route table (sub-apps included) and
  check every ``/api`` route except login refuses a request without a valid token, so a new route
  cannot be left open by mistake.
"""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from hooksim.auth import CREDENTIAL_STORE, LOGIN_PATH, is_guarded

#: Stands in for every ``{variable}`` of a route; it matches GUID patterns as well as plain ones.
SAMPLE_SEGMENT = "00000000-0000-0000-0000-000000000000"


async def bearer_headers(client: TestClient[Any, Any]) -> dict[str, str]:
    """Log in with the app's stored credentials; the headers an authenticated request needs."""
    record = await client.app[CREDENTIAL_STORE].client()
    assert record is not None, "setup_auth has not started"
    response = await client.post(LOGIN_PATH, json={"clientId": record.client_id,
                                                   "clientSecret": record.client_secret})
    assert response.status == 200, await response.text()
    return {"Authorization": f"Bearer {(await response.json())['accessToken']}"}


def api_routes(app: web.Application) -> list[tuple[str, str]]:
    """``(method, concrete path)`` of every route of ``app`` that needs a token."""
    found: list[tuple[str, str]] = []
    for resource in app.router.resources():
        info = resource.get_info()
        if isinstance(info.get("app"), web.Application):  # a sub-app: its paths carry the prefix
            found += api_routes(info["app"])
            continue
        path = re.sub(r"\{[^}]*\}", SAMPLE_SEGMENT, resource.canonical)
        if not is_guarded(path):
            continue
        for route in resource:
            found.append(("GET" if route.method == "*" else route.method, path))
    return found


async def assert_api_routes_guarded(app: web.Application,
                                    client: TestClient[Any, Any]) -> list[tuple[str, str]]:
    """Assert every guarded route answers 401 JSON without a token and with an unknown one.

    Returns the ``(method, path)`` pairs checked, so a caller can assert its own are among them.
    """
    routes = api_routes(app)
    assert routes, "no /api routes found besides login: is the route walk broken?"
    unguarded = []
    for method, path in routes:
        for headers in ({}, {"Authorization": "Bearer not-a-token"}):
            response = await client.request(method, path, headers=headers)
            if response.status != 401 or (method != "HEAD" and not _is_error_json(
                    await response.text())):
                unguarded.append(f"{method} {path} ({headers or 'no token'}): {response.status}")
    assert not unguarded, "routes under /api answer without a valid token:\n" + "\n".join(unguarded)
    return routes


def _is_error_json(text: str) -> bool:
    try:
        body = json.loads(text)
    except ValueError:
        return False
    return isinstance(body, dict) and {"error", "detail"} <= set(body)
