"""The combined web app: one port serving the API, the pages, and the receiver's hooks."""

from __future__ import annotations

from aiohttp import web

from hooksim.settings import Settings
from storage.web import setup_database

SETTINGS = web.AppKey("settings", Settings)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def build_app(settings: Settings) -> web.Application:
    """Compose the app from each component's ``setup_x(app)``; order is start-up order."""
    app = web.Application()
    app[SETTINGS] = settings
    setup_database(app, settings.storage)
    app.router.add_get("/healthz", healthz)
    return app
