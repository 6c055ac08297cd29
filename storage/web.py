"""aiohttp wiring for storage: one database per app, opened and closed in ``cleanup_ctx``; a
database that cannot answer right now is a 503, the same for every component's handlers."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable

from aiohttp import web

from storage.backends import open_storage
from storage.errors import StorageUnavailable
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


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def unavailable_is_503(handler: Handler) -> Handler:
    """``StorageUnavailable`` (locked, busy, server gone) becomes 503
    ``{"error": "storage_unavailable", "detail": ...}``: try again later, not a 500."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except StorageUnavailable as exc:
            return web.json_response({"error": "storage_unavailable", "detail": str(exc)},
                                     status=503)

    return wrapped
