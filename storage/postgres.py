"""PostgreSQL database handle with the interface the stores use on :class:`storage.sqlite.Database`.

Why psycopg 3 and not asyncpg: the stores' key interface is ``write_batch(work)``, a whole
transaction body run as a *synchronous* function on the database's own thread (one hand-over per
batch: the receiver's group commit is built on it). asyncpg can only run statements one await at
a time; psycopg's synchronous connections can run such a body. So each connection here is driven
on its own thread, exactly as aiosqlite drives sqlite3: same model, same store code.

- One writer connection, writes serialised by a lock (as with SQLite); every logical write is one
  transaction, committed on exit and rolled back on any exception or cancellation.
- One reader connection in autocommit: each read statement sees only committed data (READ
  COMMITTED), never a write half-way.
- The stores' SQL keeps SQLite's ``?`` placeholders; :func:`pyformat` turns them into psycopg's
  ``%s`` (the one place). Rows answer by name and by index, like ``sqlite3.Row``.
- psycopg errors become :mod:`storage.errors` in :func:`translate`, at the one boundary where
  work comes back from a connection's thread.
- A connection that was lost (server restarted, backend terminated) fails the statement it was
  running (StorageUnavailable) and is opened again on the next transaction or read.
"""

from __future__ import annotations

import asyncio
import functools
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import psycopg
import psycopg.errors
from psycopg.conninfo import conninfo_to_dict

from storage.dialect import POSTGRESQL
from storage.errors import StorageError, StorageUnavailable
from storage.schema import VERSION_TABLE, Schema, versions_to_apply
from storage.settings import redact_dsn

T = TypeVar("T")

# SQLSTATEs outside psycopg's OperationalError that still mean "try again later":
# read-only transaction (a standby, or a primary being demoted).
_TRANSIENT_STATES = {"25006"}
# Key of the advisory lock that serialises migrations across processes starting together.
_MIGRATION_LOCK = 0x686F6F6B73696D   # "hooksim"
_CONNECT_TIMEOUT_SECONDS = 5
# A batch PostgreSQL rolled back to break a deadlock (40P01) or a serialization failure (40001)
# runs again this many times in all, after a short random wait, before it is StorageUnavailable:
# batches lock subscriptions other dispatchers lock too, and the two orders can cross.
_BATCH_TRIES = 5
_RETRY_WAIT_SECONDS = 0.01


def translate(exc: psycopg.Error) -> StorageError:
    """Map a psycopg error to our hierarchy (the single place this happens). Connection loss,
    lock timeouts, serialisation failures, a full disk or a shutting-down server are all
    OperationalError: retry later."""
    if isinstance(exc, psycopg.OperationalError) or exc.sqlstate in _TRANSIENT_STATES:
        return StorageUnavailable(f"database unavailable: {exc}".strip())
    return StorageError(f"database error: {exc}".strip())


@functools.lru_cache(maxsize=1024)
def pyformat(sql: str) -> str:
    """The stores' ``?`` placeholders as psycopg's ``%s``; a literal ``%`` becomes ``%%``.
    (The stores never put a ``?`` inside a string literal.)"""
    return sql.replace("%", "%%").replace("?", "%s")


class Row:
    """A result row by index, slice or column name, like ``sqlite3.Row``."""

    __slots__ = ("_names", "_values")

    def __init__(self, values: tuple[Any, ...], names: dict[str, int]) -> None:
        self._values = values
        self._names = names

    def __getitem__(self, key: int | slice | str) -> Any:
        if isinstance(key, str):
            return self._values[self._names[key]]
        return self._values[key]

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Row):
            return self._values == other._values and self._names == other._names
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def keys(self) -> list[str]:
        return list(self._names)

    def __repr__(self) -> str:
        return f"Row({dict(zip(self._names, self._values))!r})"


def _row_factory(cursor: psycopg.Cursor[Any]) -> Callable[[tuple[Any, ...]], Row]:
    names = {column.name: i for i, column in enumerate(cursor.description or ())}
    return lambda values: Row(tuple(values), names)


class SyncConnection:
    """What ``write_batch`` work gets: ``execute``/``executemany`` with ``?`` placeholders,
    returning psycopg cursors (``fetchone``, ``fetchall``, ``rowcount``)."""

    def __init__(self, conn: psycopg.Connection[Row]) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Iterable[Any] = ()) -> psycopg.Cursor[Row]:
        return self._conn.execute(pyformat(sql), tuple(params))

    def executemany(self, sql: str, seq: Iterable[Iterable[Any]]) -> psycopg.Cursor[Row]:
        cursor = self._conn.cursor()
        cursor.executemany(pyformat(sql), [tuple(params) for params in seq])
        return cursor


class Result:
    """A statement's rows, fetched on the connection's thread; read like an aiosqlite cursor.
    There is no ``lastrowid`` on PostgreSQL: use ``RETURNING``."""

    def __init__(self, rows: list[Row], rowcount: int) -> None:
        self._rows = rows
        self._next = 0
        self.rowcount = rowcount

    async def fetchone(self) -> Row | None:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    async def fetchall(self) -> list[Row]:
        rest, self._next = self._rows[self._next:], len(self._rows)
        return rest


class _Pending:
    """``await conn.execute(...)`` or ``async with conn.execute(...) as cur``, as aiosqlite allows."""

    def __init__(self, result: Awaitable[Result]) -> None:
        self._result = result

    def __await__(self) -> Generator[Any, None, Result]:
        return self._result.__await__()

    async def __aenter__(self) -> Result:
        return await self._result

    async def __aexit__(self, *exc: object) -> None:
        return None


def _fetch(conn: psycopg.Connection[Row], sql: str, params: tuple[Any, ...]) -> Result:
    cursor = conn.execute(pyformat(sql), params)
    rows = cursor.fetchall() if cursor.description is not None else []
    return Result(rows, cursor.rowcount)


class _Worker:
    """One psycopg connection driven on its own thread: calls run there one at a time, in order
    (so a rollback queued after a cancelled statement runs after it)."""

    def __init__(self, connect: Callable[[], psycopg.Connection[Row]], name: str) -> None:
        self._connect = connect
        self._conn: psycopg.Connection[Row] | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    async def run(self, fn: Callable[..., T], *args: Any, connect: bool = True) -> T:
        """``fn(conn, *args)`` on the thread; psycopg errors come back translated. With
        ``connect=False`` a lost connection is not opened again (fn gets None)."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._thread, self._call, fn, args, connect)
        except psycopg.Error as exc:
            raise translate(exc) from exc

    def _call(self, fn: Callable[..., T], args: tuple[Any, ...], connect: bool) -> T:
        if self._conn is not None and self._conn.closed:
            self._conn = None   # lost: its server-side session is gone
        if self._conn is None and connect:
            self._conn = self._connect()
        return fn(self._conn, *args)

    async def close(self) -> None:
        try:
            await self.run(_close, connect=False)
        except StorageError:
            pass
        finally:
            self._thread.shutdown(wait=False)


def _close(conn: psycopg.Connection[Row] | None) -> None:
    if conn is not None:
        conn.close()


def _rollback(conn: psycopg.Connection[Row] | None) -> None:
    if conn is not None and not conn.closed:
        try:
            conn.rollback()
        except psycopg.Error:   # the connection broke: nothing is left to roll back
            pass


def _commit(conn: psycopg.Connection[Row]) -> None:
    conn.commit()


def _transaction(conn: psycopg.Connection[Row], work: Callable[[SyncConnection], T]) -> T:
    for tries in range(1, _BATCH_TRIES + 1):
        try:
            result = work(SyncConnection(conn))
            conn.commit()
        except psycopg.errors.TransactionRollback:   # deadlock, serialization failure
            _rollback(conn)
            if tries == _BATCH_TRIES:
                raise
            time.sleep(random.uniform(0, _RETRY_WAIT_SECONDS * tries))   # apart, not in step
            continue
        except BaseException:
            _rollback(conn)
            raise
        return result
    raise AssertionError("unreachable")


class PostgresDatabase:
    """A PostgreSQL database opened for hooksim. Use :func:`open_postgres`; close with
    :meth:`close`."""

    backend = "postgresql"
    dialect = POSTGRESQL   # the SQL that differs between backends (storage.dialect)

    def __init__(self, where: str, writer: _Worker, reader: _Worker) -> None:
        self.where = where   # the DSN without its password
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction; commits on exit, rolls back on any exception."""
        async with self._write_lock:
            try:
                yield AsyncConnection(self._writer)
                await self._writer.run(_commit)
            except BaseException:
                # Queued after whatever was cancelled, so it runs after it on the thread.
                await self._writer.run(_rollback, connect=False)
                raise

    async def write_batch(self, work: Callable[[SyncConnection], T]) -> T:
        """One write transaction run whole on the writer's thread: ``work(conn)`` gets a
        :class:`SyncConnection`; commit after it, roll back if it raises.

        PostgreSQL may abort it to break a deadlock with another process (or on a serialization
        failure): then it is rolled back and ``work`` runs again, a few times, before that is
        StorageUnavailable. So ``work`` must not change anything outside the transaction.
        """
        async with self._write_lock:
            # Cancelled or not, the thread runs the whole body and commits or rolls back.
            return await self._writer.run(_transaction, work)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads of committed data."""
        yield AsyncConnection(self._reader)

    async def close(self) -> None:
        for worker in (self._reader, self._writer):
            await worker.close()


class AsyncConnection:
    """What ``write()`` and ``read()`` give: ``execute(sql, params)`` with ``?`` placeholders."""

    def __init__(self, worker: _Worker) -> None:
        self._worker = worker

    def execute(self, sql: str, params: Iterable[Any] = ()) -> _Pending:
        return _Pending(self._worker.run(_fetch, sql, tuple(params)))


def _connector(dsn: str, autocommit: bool, busy_timeout_ms: int,
               synchronous: str) -> Callable[[], psycopg.Connection[Row]]:
    params = conninfo_to_dict(dsn)
    params.setdefault("connect_timeout", _CONNECT_TIMEOUT_SECONDS)
    params.setdefault("application_name", "hooksim")

    def connect() -> psycopg.Connection[Row]:
        conn = psycopg.connect(autocommit=autocommit, row_factory=_row_factory, **params)
        # storage.busy_timeout_ms: how long a statement waits for a lock before giving up
        # (LockNotAvailable, an OperationalError: 'unavailable', as SQLite's busy timeout).
        conn.execute(f"SET lock_timeout = {int(busy_timeout_ms)}")
        if synchronous == "normal":   # faster; a server crash may lose the last commits
            conn.execute("SET synchronous_commit = off")
        conn.commit()
        return conn

    return connect


def not_ported(schemas: Iterable[Schema]) -> list[str]:
    """The components among ``schemas`` without PostgreSQL migrations yet."""
    return [schema.component for schema in schemas if schema.postgresql is None]


async def open_postgres(
    dsn: str,
    schemas: Iterable[Schema] | None = None,
    busy_timeout_ms: int = 5000,
    synchronous: str = "full",
) -> PostgresDatabase:
    """Connect to ``dsn`` and bring every schema up to date (refusing components that are not
    ported to PostgreSQL yet, before touching the database)."""
    from storage import ALL_SCHEMAS  # late: the registry imports every store module

    schemas = ALL_SCHEMAS if schemas is None else tuple(schemas)
    missing = not_ported(schemas)
    if missing:
        raise StorageError(
            f"not ported to PostgreSQL yet: {', '.join(missing)} "
            '(use storage.backend = "sqlite" for them)')
    try:
        writer = _Worker(_connector(dsn, False, busy_timeout_ms, synchronous), "hooksim-pg-writer")
        reader = _Worker(_connector(dsn, True, busy_timeout_ms, synchronous), "hooksim-pg-reader")
    except psycopg.Error as exc:   # a DSN libpq cannot parse
        raise StorageError(f"storage.dsn: {exc}") from None
    try:
        await writer.run(migrate, schemas)
        await reader.run(lambda conn: None)   # fail now, not at the first request
    except BaseException:
        await reader.close()
        await writer.close()
        raise
    return PostgresDatabase(redact_dsn(dsn), writer, reader)


def migrate(conn: psycopg.Connection[Row], schemas: Iterable[Schema]) -> None:
    """Apply each schema's missing PostgreSQL migrations, each in its own transaction with its
    version row. An advisory lock makes processes that start together take turns."""
    conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK,))
    conn.commit()
    try:
        conn.execute(VERSION_TABLE)
        conn.commit()
        for schema in schemas:
            assert schema.postgresql is not None
            row = conn.execute("SELECT version FROM schema_version WHERE component = %s",
                               (schema.component,)).fetchone()
            for version in versions_to_apply(schema, row[0] if row else 0):
                try:
                    conn.execute(schema.postgresql[version - 1])   # no params: several statements
                    conn.execute(
                        "INSERT INTO schema_version (component, version) VALUES (%s, %s) "
                        "ON CONFLICT (component) DO UPDATE SET version = excluded.version",
                        (schema.component, version))
                    conn.commit()
                except BaseException:
                    _rollback(conn)
                    raise
        conn.commit()
    finally:
        if not conn.closed:
            _rollback(conn)
            conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK,))
            conn.commit()
