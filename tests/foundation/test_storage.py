"""The storage core against real SQLite files: pragmas, transactions, migrations."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from storage import Schema, SchemaTooNew, StorageUnavailable, open_database

V1 = Schema("widgets", ("CREATE TABLE widget (id INTEGER PRIMARY KEY, name TEXT NOT NULL);",))
V2 = Schema("widgets", (*V1.migrations, "ALTER TABLE widget ADD COLUMN colour TEXT;"))


async def test_pragmas_are_set(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "a.db", schemas=[V1])
    try:
        async with db.read() as conn:
            assert (await (await conn.execute("PRAGMA journal_mode")).fetchone())[0] == "wal"
            assert (await (await conn.execute("PRAGMA foreign_keys")).fetchone())[0] == 1
            assert (await (await conn.execute("PRAGMA busy_timeout")).fetchone())[0] == 5000
    finally:
        await db.close()


async def test_a_failed_write_leaves_nothing(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "a.db", schemas=[V1])
    try:
        with pytest.raises(RuntimeError):
            async with db.write() as conn:
                await conn.execute("INSERT INTO widget (name) VALUES ('half')")
                raise RuntimeError("crash between two statements")
        async with db.write() as conn:
            await conn.execute("INSERT INTO widget (name) VALUES ('whole')")
        async with db.read() as conn:
            rows = await (await conn.execute("SELECT name FROM widget")).fetchall()
        assert [r["name"] for r in rows] == ["whole"]
    finally:
        await db.close()


async def test_readers_see_only_committed_data(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "a.db", schemas=[V1])
    try:
        async with db.write() as conn:
            await conn.execute("INSERT INTO widget (name) VALUES ('pending')")
            async with db.read() as reader:
                count = (await (await reader.execute("SELECT count(*) FROM widget")).fetchone())[0]
            assert count == 0
        async with db.read() as reader:
            assert (await (await reader.execute("SELECT count(*) FROM widget")).fetchone())[0] == 1
    finally:
        await db.close()


async def test_older_database_upgrades_itself(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    db = await open_database(path, schemas=[V1])
    async with db.write() as conn:
        await conn.execute("INSERT INTO widget (name) VALUES ('kept')")
    await db.close()

    db = await open_database(path, schemas=[V2])
    try:
        async with db.read() as conn:
            row = await (await conn.execute("SELECT name, colour FROM widget")).fetchone()
            version = await (await conn.execute(
                "SELECT version FROM schema_version WHERE component = 'widgets'")).fetchone()
        assert (row["name"], row["colour"], version[0]) == ("kept", None, 2)
    finally:
        await db.close()


async def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    await (await open_database(path, schemas=[V2])).close()
    with pytest.raises(SchemaTooNew, match="newer than this hooksim supports"):
        await open_database(path, schemas=[V1])


async def test_a_failing_migration_is_not_half_applied(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    await (await open_database(path, schemas=[V1])).close()
    broken = Schema("widgets", (*V1.migrations,
                                "CREATE TABLE extra (x INTEGER); INSERT INTO nowhere VALUES (1);"))
    with pytest.raises(Exception):
        await open_database(path, schemas=[broken])
    conn = sqlite3.connect(path)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        version = conn.execute("SELECT version FROM schema_version").fetchone()[0]
    finally:
        conn.close()
    assert "extra" not in tables and version == 1


async def test_locked_database_is_reported_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    db = await open_database(path, schemas=[V1], busy_timeout_ms=50)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StorageUnavailable):
            async with db.write() as conn:
                await conn.execute("INSERT INTO widget (name) VALUES ('x')")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        await db.close()


async def test_a_write_cancelled_while_beginning_leaves_the_connection_usable(tmp_path: Path) -> None:
    import asyncio

    db = await open_database(tmp_path / "a.db", schemas=[V1])
    try:
        for _ in range(20):   # cancel at the BEGIN, wherever the thread hand-over happens to be
            async def write_one() -> None:
                async with db.write() as conn:
                    await conn.execute("INSERT INTO widget (name) VALUES ('x')")

            task = asyncio.create_task(write_one())
            await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            async with db.write() as conn:   # raised "cannot start a transaction within a transaction"
                await conn.execute("INSERT INTO widget (name) VALUES ('after')")
        async with db.read() as conn:
            count = (await (await conn.execute(
                "SELECT count(*) FROM widget WHERE name = 'after'")).fetchone())[0]
        assert count == 20
    finally:
        await db.close()
