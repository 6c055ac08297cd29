"""aiohttp wiring for storage: one Database per app, opened and closed in ``cleanup_ctx``."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from storage.settings import StorageSettings
from storage.sqlite import Database, open_database

DATABASE = web.AppKey("database", Database)


def setup_database(app: web.Application, settings: StorageSettings) -> None:
    """Open the database when the app starts and close it after everything else has stopped."""

    async def database_ctx(app: web.Application) -> AsyncIterator[None]:
        app[DATABASE] = await open_database(
            settings.path, busy_timeout_ms=settings.busy_timeout_ms, synchronous=settings.synchronous
        )
        yield
        await app[DATABASE].close()

    app.cleanup_ctx.append(database_ctx)
