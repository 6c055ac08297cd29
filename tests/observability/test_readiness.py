"""GET /readyz on the real app: ready, then not ready naming the failed check when the database
is gone, the schema is behind or the delivery loop has stopped, and ready again after."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from dispatcher.app import ENGINE
from hooksim.health import STUCK_SECONDS, engine_problem
from storage.web import DATABASE
from tests.backends import sqlite_write_lock
from tests.observability.conftest import MakeApp
from tests.reliability.test_storage_unavailable import set_read_only

QUICK = {"busy_timeout_ms": 50}


async def readiness(client: TestClient[Any, Any]) -> tuple[int, dict[str, Any]]:
    response = await client.get("/readyz")
    return response.status, await response.json()


async def assert_ready(client: TestClient[Any, Any]) -> None:
    status, answer = await readiness(client)
    assert (status, answer["status"], answer["failed"]) == (200, "ready", []), answer
    assert all(check["ok"] for check in answer["checks"].values())


async def test_ready_until_the_database_turns_read_only_then_ready_again(make_app: MakeApp
                                                                         ) -> None:
    client = await make_app(storage=QUICK)
    await assert_ready(client)
    assert set((await readiness(client))[1]["checks"]) == {"database", "migrations", "engine"}
    db = client.app[DATABASE]
    await set_read_only(db, True)
    try:
        status, answer = await readiness(client)
    finally:
        await set_read_only(db, False)
    assert (status, answer["status"], answer["failed"]) == (503, "not_ready", ["database"])
    detail = answer["checks"]["database"]["detail"]
    assert "readonly" in detail or "read-only" in detail
    assert answer["checks"]["migrations"]["ok"] is None   # not asked of a missing database
    await assert_ready(client)
    assert (await client.get("/healthz")).status == 200   # liveness never asked the database


async def test_not_ready_while_another_writer_holds_the_sqlite_file(make_app: MakeApp,
                                                                    storage_settings: Any) -> None:
    if storage_settings.backend != "sqlite":
        pytest.skip("a lock on a file: SQLite's way of being unavailable")
    client = await make_app(storage=QUICK)
    with sqlite_write_lock(Path(storage_settings.path), wait=5):
        status, answer = await readiness(client)
        assert (status, answer["failed"]) == (503, ["database"])
        assert "locked" in answer["checks"]["database"]["detail"]
    await assert_ready(client)


async def test_not_ready_while_a_schema_is_behind(make_app: MakeApp) -> None:
    client = await make_app()
    db = client.app[DATABASE]

    async def receiver_version(change: int) -> None:
        async with db.write() as conn:
            await conn.execute("UPDATE schema_version SET version = version + ? "
                               "WHERE component = 'receiver'", (change,))

    await receiver_version(-1)
    try:
        status, answer = await readiness(client)
    finally:
        await receiver_version(+1)
    assert (status, answer["failed"]) == (503, ["migrations"])
    assert answer["checks"]["migrations"]["detail"].startswith("receiver: version ")
    await assert_ready(client)


async def test_not_ready_while_the_delivery_loop_is_stopped(make_app: MakeApp) -> None:
    client = await make_app()
    engine = client.app[ENGINE]
    await engine.stop(timeout=1)
    status, answer = await readiness(client)
    assert (status, answer["failed"]) == (503, ["engine"])
    assert answer["checks"]["engine"]["detail"] == "the delivery loop is not running"
    await engine.start()
    await assert_ready(client)


async def test_delivery_switched_off_is_ready(make_app: MakeApp) -> None:
    client = await make_app(dispatcher={"enabled": False})
    await assert_ready(client)


def test_a_loop_pass_that_never_ends_is_not_healthy() -> None:
    now = time.monotonic()
    assert engine_problem(True, None, now) is None                     # parked: idle
    assert engine_problem(True, now - 1, now) is None                  # busy, briefly
    assert engine_problem(True, now - STUCK_SECONDS - 5, now) == (
        f"one pass of the delivery loop has been running for {STUCK_SECONDS + 5:.0f} s")
    assert engine_problem(False, None, now) == "the delivery loop is not running"
