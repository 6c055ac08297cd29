"""Running storage tests on each backend: SQLite files in tmp_path, and PostgreSQL, a fresh schema
per test in the database ``HOOKSIM_TEST_POSTGRES_DSN`` names (``make test`` starts a throwaway
cluster for it: tests/pgcluster.py).

Without that DSN the PostgreSQL variants skip, except under CI (``CI`` set), where they fail:
they can never silently stop running there.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import pytest

from storage.settings import StorageSettings

BACKENDS = ("sqlite", "postgresql")
DSN_VARIABLE = "HOOKSIM_TEST_POSTGRES_DSN"
# Taken out of the environment as the suite starts: hooksim processes the tests start would
# read it as a HOOKSIM_<SECTION>_<KEY> setting and refuse the unknown section "test".
_DSN = os.environ.pop(DSN_VARIABLE, "")


def missing_postgres(message: str) -> NoReturn:
    """Skip a PostgreSQL test that cannot run here; under CI, fail it."""
    if os.environ.get("CI"):
        pytest.fail(f"CI is set: PostgreSQL tests must run. {message}")
    pytest.skip(message)


def postgres_dsn() -> str:
    """The test cluster's DSN; skips the test without one (fails it under CI)."""
    dsn = _DSN
    if not dsn:
        missing_postgres(f"no PostgreSQL: set {DSN_VARIABLE}, or run `make test` (it starts a "
                         "throwaway cluster)")
    return dsn


@contextmanager
def postgres_schema(dsn: str) -> Iterator[str]:
    """A fresh empty schema; yields a DSN whose connections use only it. Dropped afterwards."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {name}")
    try:
        yield make_conninfo(dsn, options=f"-c search_path={name}")
    finally:
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {name} CASCADE")


@contextmanager
def storage_settings_for(backend: str, tmp_path: Path, **options: Any) -> Iterator[StorageSettings]:
    """Settings for an empty database of ``backend``; ``options`` are other storage settings."""
    if backend == "sqlite":
        yield StorageSettings(path=str(tmp_path / "hooksim-test.db"), **options)
        return
    with postgres_schema(postgres_dsn()) as dsn:
        yield StorageSettings(backend="postgresql", dsn=dsn, **options)


def postgres_env(settings: StorageSettings) -> dict[str, str]:
    """The environment that puts a hooksim process on ``settings``' PostgreSQL database."""
    return {"HOOKSIM_STORAGE_BACKEND": "postgresql", "HOOKSIM_STORAGE_DSN": settings.dsn}


def process_storage(settings: StorageSettings) -> tuple[list[str], dict[str, str]]:
    """The command-line arguments and environment that put a hooksim process on ``settings``'
    database, on either backend."""
    if settings.backend == "sqlite":
        return ["--db", settings.path], {}
    return [], postgres_env(settings)


class SyncConnection:
    """A plain connection to the test's database from outside the app (another process, as far
    as the app can tell), with ``?`` placeholders on both backends."""

    def __init__(self, settings: StorageSettings) -> None:
        self.backend = settings.backend
        if self.backend == "sqlite":
            self._conn: Any = sqlite3.connect(settings.path, isolation_level=None, timeout=0)
        else:
            import psycopg

            self._conn = psycopg.connect(settings.dsn, autocommit=True)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        if self.backend == "postgresql":
            from storage.postgres import pyformat

            sql = pyformat(sql)
        return self._conn.execute(sql, tuple(params))

    def table_exists(self, name: str) -> bool:
        sql = ("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
               if self.backend == "sqlite" else
               "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() "
               "AND table_name = ?")
        return self.execute(sql, (name,)).fetchone() is not None

    @contextmanager
    def holding_write_lock(self, table: str) -> Iterator[None]:
        """Another writer holds the lock the app needs to write ``table``, until exit."""
        if self.backend == "sqlite":
            self.execute("BEGIN IMMEDIATE")
        else:
            self.execute("BEGIN")
            self.execute(f"LOCK TABLE {table} IN EXCLUSIVE MODE")
        try:
            yield
        finally:
            self.execute("ROLLBACK")

    def close(self) -> None:
        self._conn.close()


@contextmanager
def connect(settings: StorageSettings) -> Iterator[SyncConnection]:
    conn = SyncConnection(settings)
    try:
        yield conn
    finally:
        conn.close()


@contextmanager
def sqlite_write_lock(path: Path, wait: float = 0.0) -> Iterator[None]:
    """Another writer holds the SQLite file's write lock while the block runs; ``wait``: how
    long it waits its turn behind the writers already there (0: it must get it at once)."""
    blocker = sqlite3.connect(path, timeout=wait)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        blocker.rollback()
        blocker.close()
