"""Storage exceptions: what sqlite3 and psycopg errors become, each at its backend's one
boundary (``storage.sqlite.translate``, ``storage.postgres.translate``)."""

from __future__ import annotations


class StorageError(Exception):
    """Base class of every storage failure."""


class StorageUnavailable(StorageError):
    """The database cannot be written right now (locked, read-only, disk full, server gone).
    Retry later."""


class SchemaTooNew(StorageError):
    """The database was written by a newer hooksim than this one."""


class NotFound(StorageError):
    """No record with that key."""


class Conflict(StorageError):
    """The write contradicts what is stored (duplicate key, wrong state)."""
