"""SQLite database handle: WAL, foreign keys, busy timeout, one writer, migrations on open.

Every logical write runs inside :meth:`Database.write`, one ``BEGIN IMMEDIATE`` transaction, so a
crash leaves either all of it or none. Reads use a second connection that sees only committed
data (WAL snapshot), so a reader never observes a write half-way.

A third connection checkpoints the WAL in the background (``PASSIVE``: beside the writer, never
blocking it) a few times a second while writes come in. SQLite's own automatic checkpoint (at
1 000 WAL pages) runs inside the commit that crosses the mark, so that commit, and every request
waiting on it, paid for copying the pages and an fsync of the database file: the receiver's
slowest answers. It still runs, and still lets the WAL restart from its beginning, but finds
little left to copy.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import aiosqlite

from storage.dialect import SQLITE
from storage.errors import StorageError, StorageUnavailable
from storage.schema import VERSION_TABLE, Schema, versions_to_apply

T = TypeVar("T")

_SYNCHRONOUS = {"full": "FULL", "normal": "NORMAL"}
# How often the background checkpoint looks for new commits (it does nothing without any).
CHECKPOINT_SECONDS = 0.05

# sqlite3 messages that mean "try again later", not "your data is wrong".
_TRANSIENT = ("locked", "busy", "readonly", "read-only", "disk i/o", "full", "unable to open")


def translate(exc: sqlite3.Error) -> StorageError:
    """Map a sqlite3 error to our hierarchy (the single place this happens)."""
    text = str(exc).lower()
    if isinstance(exc, sqlite3.OperationalError) and any(word in text for word in _TRANSIENT):
        return StorageUnavailable(f"database unavailable: {exc}")
    return StorageError(f"database error: {exc}")


class Database:
    """A SQLite file opened for hooksim. Use :func:`open_database`; close with :meth:`close`."""

    backend = "sqlite"
    dialect = SQLITE   # the SQL that differs between backends (storage.dialect)

    def __init__(self, path: str, writer: aiosqlite.Connection, reader: aiosqlite.Connection,
                 checkpointer: aiosqlite.Connection | None = None) -> None:
        self.path = path
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()
        self._writes = 0          # transactions committed (or tried) since opening
        self.checkpoints = 0      # background checkpoints run (tests and curiosity)
        self._checkpointer = checkpointer
        self._checkpoint_task = (asyncio.create_task(self._checkpoint_loop(checkpointer),
                                                     name="sqlite-checkpoint")
                                 if checkpointer is not None else None)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction; commits on exit, rolls back on any exception."""
        async with self._write_lock:
            self._writes += 1
            try:
                await self._writer.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise translate(exc) from exc
            except BaseException:
                # Cancelled while waiting: the BEGIN still runs on the database thread, and a
                # connection left inside it would refuse every later BEGIN. Roll it back.
                await self._rollback()
                raise
            try:
                yield self._writer
            except BaseException:
                await self._rollback()
                raise
            try:
                await self._writer.commit()
            except sqlite3.Error as exc:
                await self._rollback()
                raise translate(exc) from exc
            except BaseException:
                await self._rollback()   # a no-op if the commit ran before the cancellation
                raise

    async def write_batch(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """One write transaction run whole on the database thread: ``work(conn)`` gets the plain
        sqlite3 connection, inside ``BEGIN IMMEDIATE``; commit after it, roll back if it raises.

        Same guarantees as :meth:`write`, but a batch of statements costs one hand-over to the
        database thread instead of one per statement (what group commit needs under load).
        """
        async with self._write_lock:
            self._writes += 1
            try:
                return await self._writer._execute(_transaction, self._writer._conn, work)
            except sqlite3.Error as exc:
                raise translate(exc) from exc

    async def _rollback(self) -> None:
        try:
            await self._writer.rollback()
        except sqlite3.Error:  # the connection may already have rolled back by itself
            pass

    @asynccontextmanager
    async def read(self) -> AsyncIterator[aiosqlite.Connection]:
        """A connection for reads of committed data."""
        try:
            yield self._reader
        except sqlite3.Error as exc:
            raise translate(exc) from exc

    async def _checkpoint_loop(self, conn: aiosqlite.Connection) -> None:
        seen = self._writes
        while True:
            await asyncio.sleep(CHECKPOINT_SECONDS)
            if self._writes == seen:
                continue
            seen = self._writes
            try:
                await conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                self.checkpoints += 1
            except sqlite3.Error:
                pass   # e.g. busy, or the disk: the writer's own checkpoint still runs

    async def close(self) -> None:
        if self._checkpoint_task is not None:
            self._checkpoint_task.cancel()
            await asyncio.gather(self._checkpoint_task, return_exceptions=True)
        for conn in (self._checkpointer, self._reader, self._writer):
            if conn is None:
                continue
            try:
                await conn.close()
            except (sqlite3.Error, ValueError):
                pass


def _transaction(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = work(conn)
        conn.commit()
    except BaseException:
        if conn.in_transaction:
            try:
                conn.rollback()
            except sqlite3.Error:
                pass
        raise
    return result


async def _connect(path: str, busy_timeout_ms: int, synchronous: str) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None, timeout=busy_timeout_ms / 1000)
    conn.row_factory = aiosqlite.Row
    await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    await conn.execute("PRAGMA foreign_keys = ON")
    await conn.execute(f"PRAGMA synchronous = {_SYNCHRONOUS[synchronous]}")
    return conn


def _in_memory(path: str) -> bool:
    return path in ("", ":memory:") or "mode=memory" in path


def _create_owner_only(path: str) -> None:
    """Create a new database file as 0600 (it holds secrets); SQLite gives its -wal and -shm
    files the same mode. An existing file is left as it is."""
    if _in_memory(path) or path.startswith("file:"):
        return
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass
    except OSError:
        pass   # e.g. a missing directory: let SQLite report it in its own words


async def open_database(
    path: str | Path,
    schemas: Iterable[Schema] | None = None,
    busy_timeout_ms: int = 5000,
    synchronous: str = "full",
) -> Database:
    """Open (creating if needed) the database at ``path`` and bring every schema up to date."""
    from storage import ALL_SCHEMAS  # late: the registry imports every store module

    path = str(path)
    _create_owner_only(path)
    try:
        writer = await _connect(path, busy_timeout_ms, synchronous)
    except sqlite3.Error as exc:
        raise translate(exc) from exc
    try:
        await writer.execute("PRAGMA journal_mode = WAL")
        await migrate(writer, ALL_SCHEMAS if schemas is None else tuple(schemas))
        reader = await _connect(path, busy_timeout_ms, synchronous)
    except BaseException as exc:
        await writer.close()
        if isinstance(exc, sqlite3.Error):
            raise translate(exc) from exc
        raise
    checkpointer = None
    if not _in_memory(path):
        try:
            checkpointer = await _connect(path, busy_timeout_ms, synchronous)
        except sqlite3.Error as exc:
            await reader.close()
            await writer.close()
            raise translate(exc) from exc
    return Database(path, writer, reader, checkpointer)


async def migrate(conn: aiosqlite.Connection, schemas: Iterable[Schema]) -> None:
    """Apply each schema's missing migrations, each in its own transaction."""
    await conn.execute(VERSION_TABLE)
    for schema in schemas:
        async with conn.execute(
            "SELECT version FROM schema_version WHERE component = ?", (schema.component,)
        ) as cur:
            row = await cur.fetchone()
        for version in versions_to_apply(schema, row[0] if row else 0):
            script = schema.migrations[version - 1]
            try:
                await conn.executescript(
                    "BEGIN IMMEDIATE;\n"
                    f"{script}\n;"
                    "INSERT INTO schema_version (component, version) "
                    f"VALUES ('{schema.component}', {version}) "
                    "ON CONFLICT (component) DO UPDATE SET version = excluded.version;\n"
                    "COMMIT;"
                )
            except sqlite3.Error:
                if conn.in_transaction:
                    await conn.rollback()
                raise
