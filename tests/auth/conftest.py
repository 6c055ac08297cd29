"""A small real app for the auth tests on each storage backend, a manual clock, sample routes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import structlog
from aiohttp import web

from dispatcher.clock import FakeClock
import hooksim.auth
from hooksim.auth import setup_auth
from hooksim.settings import AuthSettings
from storage.credentials import AUTH_SCHEMA
from storage.settings import StorageSettings
from storage.web import setup_database

TTL = 3600
MakeApp = Callable[..., web.Application]


async def sample(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


async def slow(request: web.Request) -> web.Response:
    await asyncio.sleep(5)
    return web.json_response({"ok": True})


async def events(request: web.Request) -> web.StreamResponse:
    """Server-sent events: a comment, a two-line data event, and one larger than a line limit."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    await response.write(b": keep-alive\n\nevent: delivery\nid: 1\ndata: {\"n\": 1}\n\n")
    await response.write(b'data: {"n":\r\ndata: 2}\r\n\r\n')
    big = b'data: {"n": 3, "pad": "' + b"x" * 200_000 + b'"}\n\n'
    for start in range(0, len(big), 7000):  # arrives in pieces
        await response.write(big[start:start + 7000])
    await response.write(b"data: {\"n\": 4, \"unfinished\": true}\n")  # no blank line: dropped
    return response


@pytest.fixture(autouse=True)
def fresh_auth_logger(monkeypatch: pytest.MonkeyPatch) -> None:
    """A logger proxy that no earlier configure_logging has cached, so capture_logs sees it."""
    monkeypatch.setattr(hooksim.auth, "log", structlog.get_logger("hooksim.auth"))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def credentials_path(tmp_path: Path) -> Path:
    return tmp_path / "credentials.json"


@pytest.fixture
def make_app(storage_settings: StorageSettings, clock: FakeClock,
             credentials_path: Path) -> Callable[..., web.Application]:
    """A fresh app on the same database and credentials file each call (a restart)."""

    def make(**auth: Any) -> web.Application:
        app = web.Application()
        setup_database(app, storage_settings, [AUTH_SCHEMA])
        setup_auth(app, AuthSettings(**{"credentials_file": str(credentials_path),
                                        "token_ttl_seconds": TTL, **auth}), clock=clock.now)
        app.router.add_get("/api/sample/{guid}", sample)
        app.router.add_post("/api/sample", sample)
        app.router.add_get("/api/slow", slow)
        app.router.add_get("/api/events", events)
        app.router.add_get("/hooks/{name}", sample)
        app.router.add_get("/healthz", sample)
        return app

    return make


@pytest.fixture
async def client(aiohttp_client: Any, make_app: Callable[..., web.Application]) -> Any:
    return await aiohttp_client(make_app())
