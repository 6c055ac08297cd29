"""The combined web app: one port serving the API, the pages, and the receiver's hooks."""

from __future__ import annotations

from aiohttp import web

from dispatcher.app import setup_dispatcher
from dispatcher.clock import Clock, ScaledClock
from hooksim.auth import setup_auth
from hooksim.demo import setup_demo
from hooksim.portal import setup_portal
from hooksim.settings import Settings
from receiver import setup_receiver
from storage.credentials import AUTH_SCHEMA
from storage.messages import RECEIVER_SCHEMA
from storage.web import setup_database

SETTINGS = web.AppKey("settings", Settings)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def build_app(settings: Settings, *, clock: Clock | None = None) -> web.Application:
    """Compose the app from each component's ``setup_x(app)``; order is start-up order."""
    app = web.Application()
    app[SETTINGS] = settings
    clock = clock or ScaledClock(settings.clock.time_scale)
    setup_database(app, settings.storage)
    setup_auth(app, settings.auth)  # wall-clock token expiry, whatever clock.time_scale says
    setup_dispatcher(app, settings.dispatcher, settings.backoff, settings.smtp, clock,
                     time_scale=settings.clock.time_scale,
                     shutdown_timeout=settings.server.shutdown_timeout)
    if settings.receiver.enabled:
        # Fault phases play on platform time, in step with the dispatcher's waits.
        setup_receiver(app, settings.receiver, clock=clock.now)
    setup_demo(app, settings.demo, seed=settings.dispatcher.seed,
               receiver_enabled=settings.receiver.enabled)
    setup_portal(app, settings)
    app.router.add_get("/healthz", healthz)
    return app


def build_receiver_app(settings: Settings) -> web.Application:
    """The receiver alone (`hooksim receive`): hooks, inspection API with its login, health."""
    app = web.Application()
    app[SETTINGS] = settings
    # Only the receiver's and auth's tables: the two stores ported to PostgreSQL so far.
    setup_database(app, settings.storage, (AUTH_SCHEMA, RECEIVER_SCHEMA))
    setup_auth(app, settings.auth)
    setup_receiver(app, settings.receiver)
    app.router.add_get("/healthz", healthz)
    return app
