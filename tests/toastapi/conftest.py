"""Toast's paths served over real HTTP on 127.0.0.1 beside a real dispatcher (real database on
each backend, real engine, a FakeClock for platform time) and a real webhook target."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from hooksim.auth import ACCESS, CREDENTIAL_STORE, setup_auth
from hooksim.settings import AuthSettings
from storage.event_log import EventLog
from storage.web import DATABASE
from tests.dispatchers import (  # noqa: F401  (fixtures)
    Dispatcher, backoff_rules, dispatcher, dispatcher_settings, target,
)
from tests.webhooks import Target
from toastapi import LOGIN_PATH, Platform, setup_toast_api
from toastapi.settings import ToastApiSettings


@dataclass
class Toast:
    """A client of Toast's paths, logged in, and the dispatcher behind them."""

    client: TestClient[Any, Any]
    dispatcher: Dispatcher
    token: str

    def headers(self, restaurant: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"}
        if restaurant is not None:
            headers["Toast-Restaurant-External-ID"] = restaurant
        return headers

    async def get(self, path: str, restaurant: str | None, expect: int = 200, **params: Any) -> Any:
        response = await self.client.get(path, headers=self.headers(restaurant), params=params)
        body = await response.json()
        assert response.status == expect, body
        return body


def toast_app(d: Dispatcher, tmp: Path, settings: ToastApiSettings) -> web.Application:
    app = web.Application()

    async def database(app: web.Application) -> AsyncIterator[None]:
        app[DATABASE] = d.db   # the dispatcher's own database
        yield

    app.cleanup_ctx.append(database)
    setup_auth(app, AuthSettings(credentials_file=str(tmp / "credentials.json")))

    def platform_of(app: web.Application) -> Platform:
        access = app[ACCESS]
        return Platform(EventLog(app[DATABASE]), d.service.restaurants, d.clock.now, settings,
                        access.issue_token, access.session_client)

    setup_toast_api(app, settings, platform_of)
    return app


async def login(client: TestClient[Any, Any]) -> str:
    record = await client.app[CREDENTIAL_STORE].client()
    response = await client.post(LOGIN_PATH, json={
        "clientId": record.client_id, "clientSecret": record.client_secret,
        "userAccessType": "TOAST_MACHINE_CLIENT"})
    assert response.status == 200
    return (await response.json())["token"]["accessToken"]


@pytest.fixture
def toast_settings() -> ToastApiSettings:
    return ToastApiSettings()


@pytest.fixture
async def toast(dispatcher: Dispatcher, aiohttp_client: Callable[..., Any], tmp_path: Path,
                toast_settings: ToastApiSettings) -> Toast:  # noqa: F811
    client = await aiohttp_client(toast_app(dispatcher, tmp_path, toast_settings))
    return Toast(client, dispatcher, await login(client))
