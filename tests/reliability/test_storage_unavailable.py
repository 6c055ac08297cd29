"""The database becomes unavailable (locked by another writer, read-only): the receiver and the
admin API answer 503 with a reason, never 2xx for something not stored, and recover by themselves
once it is writable again."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from aiohttp import web

from dispatcher.app import setup_dispatcher
from dispatcher.clock import FakeClock
from dispatcher.settings import BackoffSettings, SmtpSettings
from storage.postgres import PostgresDatabase
from storage.sqlite import Database
from storage.settings import StorageSettings
from storage.web import DATABASE, setup_database
from tests.backends import sqlite_write_lock
from tests.webhooks import FAST
from tests.receiver_app import MakeReceiver
from tests.webhooks import envelope, signed

SUBSCRIPTION = {"eventCategory": "stock", "url": "http://127.0.0.1:9/hook",
                "notificationEmail": "dev@example.com"}


async def set_read_only(db: Database | PostgresDatabase, on: bool) -> None:
    """The database turns read-only under the running server. SQLite: the file ("attempt to write
    a readonly database"), which ``query_only`` produces on the live connection. PostgreSQL: a
    standby or a demoted primary ("cannot execute INSERT in a read-only transaction")."""
    if isinstance(db, Database):
        await db._writer.execute(f"PRAGMA query_only = {int(on)}")   # noqa: SLF001
        return

    def read_only(conn: Any) -> None:
        conn.execute(f"SET default_transaction_read_only = {'on' if on else 'off'}")
        conn.commit()

    await db._writer.run(read_only)   # noqa: SLF001


async def test_receiver_answers_503_while_read_only_then_recovers(make_receiver: MakeReceiver
                                                                  ) -> None:
    h = await make_receiver(busy_timeout_ms=50)
    db = h.client.app[DATABASE]
    await set_read_only(db, True)
    try:
        body = envelope()
        status, answer = await h.post("orders", body, signed(body))
        assert status == 503
        assert answer["error"] == "storage_unavailable"
        assert "readonly" in answer["detail"] or "read-only" in answer["detail"]
    finally:
        await set_read_only(db, False)
    # Recovers by itself: the very next request (the platform's retry) is stored.
    status, answer = await h.post("orders", body, signed(body))
    assert (status, answer["stored"], answer["duplicate"]) == (200, True, False)
    stored = (await h.get("/api/messages"))["messages"]
    assert [m["status"] for m in stored] == [200]   # nothing half-written by the failed try


async def dispatcher_api(aiohttp_client, tmp_path: Path):
    app = web.Application()
    setup_database(app, StorageSettings(path=str(tmp_path / "api.db"), busy_timeout_ms=50,
                                        synchronous="normal"))
    setup_dispatcher(app, replace(FAST, enabled=False), BackoffSettings(), SmtpSettings(),
                     FakeClock())
    return await aiohttp_client(app)


async def test_admin_api_answers_503_while_locked_then_recovers(aiohttp_client, tmp_path: Path
                                                                ) -> None:
    api = await dispatcher_api(aiohttp_client, tmp_path)
    with sqlite_write_lock(tmp_path / "api.db"):
        resp = await api.post("/api/subscriptions", json=SUBSCRIPTION)
        answer = await resp.json()
        assert resp.status == 503, answer
        assert answer["error"] == "storage_unavailable" and "locked" in answer["detail"]
    resp = await api.post("/api/subscriptions", json=SUBSCRIPTION)
    assert resp.status == 201
    listed = await (await api.get("/api/subscriptions")).json()
    assert len(listed["items"]) == 1   # the refused create left nothing behind


async def test_admin_api_answers_503_while_read_only_then_recovers(aiohttp_client, tmp_path: Path
                                                                   ) -> None:
    api = await dispatcher_api(aiohttp_client, tmp_path)
    resp = await api.post("/api/subscriptions", json=SUBSCRIPTION)
    guid = (await resp.json())["guid"]
    db = api.app[DATABASE]
    await set_read_only(db, True)
    try:
        resp = await api.post("/api/events", json={"eventCategory": "stock", "count": 3})
        answer = await resp.json()
        assert resp.status == 503, answer
        assert answer["error"] == "storage_unavailable"
        assert (await api.get(f"/api/subscriptions/{guid}")).status == 200   # reads still work
    finally:
        await set_read_only(db, False)
    resp = await api.post("/api/events", json={"eventCategory": "stock", "count": 3})
    assert resp.status == 202
    deliveries = await (await api.get(f"/api/subscriptions/{guid}/deliveries")).json()
    assert len(deliveries["items"]) == 3
