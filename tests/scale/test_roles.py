"""`hooksim serve --role`: which parts each role runs, on real apps and real processes."""

from __future__ import annotations

import asyncio
import dataclasses
import signal
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from dispatcher.app import ENGINE
from dispatcher.notifications import NOTIFICATION_SENDER
from hooksim.app import build_app
from hooksim.settings import AuthSettings, ServerSettings, Settings
from receiver import RECEIVER
from storage.settings import StorageSettings
from tests.backends import postgres_dsn, postgres_schema
from tests.processes import query, queue_deliveries, start, wait_all_succeeded


def _settings(tmp_path: Path, role: str) -> Settings:
    return Settings(server=ServerSettings(role=role),  # type: ignore[arg-type]
                    storage=StorageSettings(path=str(tmp_path / "roles.db")),
                    auth=AuthSettings(credentials_file=str(tmp_path / "credentials.json")),
                    demo=dataclasses.replace(Settings().demo, enabled=False))


def _paths(app: web.Application) -> set[str]:
    return {resource.canonical for resource in app.router.resources()}


@pytest.mark.parametrize("role", ["all", "dispatcher", "receiver", "api"])
def test_each_role_serves_its_routes_and_no_others(tmp_path: Path, role: str) -> None:
    paths = _paths(build_app(_settings(tmp_path, role)))
    expected = {
        "all": {"/hooks/{name}", "/api/messages", "/api/subscriptions", "/api/notifications",
                "/api/authentication/login", "/webhooks"},
        "dispatcher": set(),
        "receiver": {"/hooks/{name}", "/api/messages", "/api/receiver/endpoints",
                     "/api/authentication/login"},
        "api": {"/api/subscriptions", "/api/events", "/api/notifications",
                "/api/authentication/login", "/webhooks"},
    }[role]
    assert {"/healthz", "/readyz", "/metrics"} <= paths
    assert expected <= paths, expected - paths
    if role == "dispatcher":
        assert paths == {"/healthz", "/readyz", "/metrics"}
    if role == "receiver":
        assert not any(p.startswith(("/api/subscriptions", "/api/events", "/api/notifications"))
                       for p in paths)
    if role == "api":
        assert "/hooks/{name}" not in paths and "/api/messages" not in paths
        assert "/inbox" not in paths   # the portal's inbox is the receiver's


async def _running(tmp_path: Path, role: str) -> tuple[TestClient, web.Application]:
    app = build_app(_settings(tmp_path, role))
    client = TestClient(TestServer(app))
    await client.start_server()
    return client, app


async def test_receiver_runs_no_engine_and_dispatcher_no_receiver(tmp_path: Path) -> None:
    client, app = await _running(tmp_path, "receiver")
    try:
        assert ENGINE not in app and NOTIFICATION_SENDER not in app and RECEIVER in app
        answer = await client.post("/hooks/orders", data=b"{}")   # the receiver's own 404
        assert (await answer.json())["error"] == "unknown_endpoint"
    finally:
        await client.close()
    client, app = await _running(tmp_path, "dispatcher")
    try:
        assert app[ENGINE].in_flight == 0 and RECEIVER not in app
        assert app[NOTIFICATION_SENDER]._task is not None   # the outbox is sent from here
        answer = await client.post("/hooks/orders", data=b"{}")
        assert answer.status == 404 and answer.content_type == "text/plain"   # no such route
        assert (await client.get("/api/subscriptions")).status == 404
        assert (await client.get("/healthz")).status == 200
    finally:
        await client.close()


async def test_api_role_commits_events_and_delivers_nothing(tmp_path: Path) -> None:
    client, app = await _running(tmp_path, "api")
    try:
        assert ENGINE not in app and RECEIVER not in app
        assert app[NOTIFICATION_SENDER]._task is None   # dispatcher processes send the emails
    finally:
        await client.close()





@pytest.mark.slow
async def test_api_process_queues_and_a_dispatcher_process_delivers_on_sqlite(
        aiohttp_server, tmp_path: Path) -> None:
    """Two processes on one SQLite file: the api role commits events, which wait until a
    dispatcher process starts and delivers them (SQLite is enough for this; several
    dispatchers are meant for PostgreSQL)."""
    received: list[bytes] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.read())
        return web.Response()

    db = tmp_path / "two.db"
    await queue_deliveries(aiohttp_server, db, 1, hook)   # the subscription, and one event
    api, base = await start(tmp_path, "serve", "--role", "api", "--port", "0", "--db", str(db))
    try:
        token = await _login(base, tmp_path)
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
            async with http.post(f"{base}/api/events",
                                 json={"eventCategory": "menus", "count": 20}) as resp:
                assert resp.status == 202, await resp.text()
            async with http.get(f"{base}/hooks/menus") as resp:
                assert resp.status == 404
        await asyncio.sleep(0.3)
        assert received == [] and dict(query(db, "SELECT status, count(*) FROM delivery "
                                              "GROUP BY status")) == {"PENDING": 21}
        dispatcher, dispatcher_base = await start(tmp_path, "serve", "--role", "dispatcher",
                                                  "--port", "0", "--db", str(db))
        try:
            assert await wait_all_succeeded(db, 21) == {"SUCCESS": 21}
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{dispatcher_base}/api/subscriptions") as resp:
                    assert resp.status == 404
        finally:
            dispatcher.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(dispatcher.wait(), 20) == 0
    finally:
        api.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(api.wait(), 20) == 0
    assert len(received) == 21


async def _login(base: str, cwd: Path) -> str:
    import json

    body = json.loads((cwd / "credentials.json").read_text())
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/api/authentication/login",
                             json={"clientId": body["clientId"],
                                   "clientSecret": body["clientSecret"]}) as resp:
            assert resp.status == 200, await resp.text()
            return (await resp.json())["accessToken"]


@pytest.mark.slow
async def test_receiver_process_on_postgresql_stores_hooks_and_runs_no_api(tmp_path: Path) -> None:
    """The receiver role runs on PostgreSQL alone (its stores are ported)."""
    with postgres_schema(postgres_dsn()) as dsn:
        proc, base = await start(tmp_path, "serve", "--role", "receiver", "--port", "0",
                                 HOOKSIM_STORAGE_BACKEND="postgresql", HOOKSIM_STORAGE_DSN=dsn,
                                 HOOKSIM_RECEIVER_AUTO_ENDPOINTS="true")
        try:
            async with aiohttp.ClientSession() as http:
                async with http.post(f"{base}/hooks/orders", data=b'{"guid": "x"}') as resp:
                    # The receiver's own answer to a bad envelope (kept, flagged).
                    assert (await resp.json())["error"] == "missing_fields"
                auth = {"Authorization": f"Bearer {await _login(base, tmp_path)}"}
                for path in ("/api/subscriptions", "/api/events", "/"):
                    async with http.get(base + path, headers=auth) as resp:
                        assert resp.status == 404, path
        finally:
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(proc.wait(), 20) == 0
        import psycopg

        with psycopg.connect(dsn) as conn:
            assert conn.execute("SELECT count(*) FROM receiver_message").fetchone()[0] == 1
