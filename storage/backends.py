"""Picking the backend: ``open_storage(settings)`` opens SQLite or PostgreSQL by
``storage.backend``. Both handles offer the same interface (``write``, ``write_batch``, ``read``,
``close``, ``backend``), so a store's code does not change with the backend."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Union

from storage.schema import Schema
from storage.settings import StorageSettings
from storage.sqlite import Database, open_database

if TYPE_CHECKING:
    import sqlite3

    from storage.postgres import PostgresDatabase, Row, SyncConnection

    AnyDatabase = Union[Database, PostgresDatabase]
    AnyRow = Union[sqlite3.Row, Row]
    BatchConnection = Union[sqlite3.Connection, SyncConnection]


async def open_storage(settings: StorageSettings,
                       schemas: Iterable[Schema] | None = None) -> AnyDatabase:
    """Open the configured database and bring ``schemas`` (default: every component's) up to
    date. PostgreSQL's driver is imported only when it is used."""
    if settings.backend == "postgresql":
        from storage.postgres import open_postgres

        return await open_postgres(settings.dsn, schemas, busy_timeout_ms=settings.busy_timeout_ms,
                                   synchronous=settings.synchronous)
    return await open_database(settings.path, schemas, busy_timeout_ms=settings.busy_timeout_ms,
                               synchronous=settings.synchronous)
