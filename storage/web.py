"""aiohttp wiring for storage: one database per app, opened and closed in ``cleanup_ctx``. (A
database that cannot answer right now is a 503: :func:`web.routes.json_route`.)"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

from aiohttp import web

from storage.backends import open_storage
from storage.schema import Schema
from storage.settings import StorageSettings
from storage.sqlite import Database

# SQLite's Database or PostgreSQL's PostgresDatabase: the same interface (storage.backends).
DATABASE = web.AppKey("database", Database)


def setup_database(app: web.Application, settings: StorageSettings,
                   schemas: Iterable[Schema] | None = None) -> None:
    """Open the database when the app starts and close it after everything else has stopped.
    ``schemas``: the components the app uses (default: all of them)."""

    async def database_ctx(app: web.Application) -> AsyncIterator[None]:
        app[DATABASE] = await open_storage(settings, schemas)  # type: ignore[assignment]
        yield
        await app[DATABASE].close()

    app.cleanup_ctx.append(database_ctx)
