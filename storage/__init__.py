"""Persistence for hooksim. Each store is one object with async methods and dataclasses in/out;
no SQL lives outside this package. SQLite (aiosqlite) is the embedded default; PostgreSQL
(psycopg, storage.postgres) serves every store too, for several processes on one database.
``storage.backends.open_storage`` opens either by the settings.

Where a change belongs: a new table or column in its component's :class:`Schema` (a new
migration script per backend, never an edited one); SQL that differs between the backends in
:mod:`storage.dialect` (nothing else compares backend names); a new backend is a new
:class:`~storage.dialect.Dialect`, a database class like :mod:`storage.sqlite` /
:mod:`storage.postgres` with its error translation, and a branch in ``open_storage``. Storage
imports nothing above it; rules (when to retry, to give up) are the dispatcher's."""

from __future__ import annotations

from storage.credentials import AUTH_SCHEMA
from storage.dispatch_schema import DISPATCH_SCHEMA
from storage.errors import Conflict, NotFound, SchemaTooNew, StorageError, StorageUnavailable
from storage.messages import RECEIVER_SCHEMA
from storage.notifications import NOTIFICATIONS_SCHEMA
from storage.schema import Schema
from storage.sqlite import Database, open_database

# Every component's schema, applied in this order on open. Stores add theirs here.
ALL_SCHEMAS: tuple[Schema, ...] = (
    DISPATCH_SCHEMA,
    NOTIFICATIONS_SCHEMA,
    AUTH_SCHEMA,
    RECEIVER_SCHEMA,
)

__all__ = [
    "ALL_SCHEMAS",
    "Conflict",
    "Database",
    "NotFound",
    "Schema",
    "SchemaTooNew",
    "StorageError",
    "StorageUnavailable",
    "open_database",
]
