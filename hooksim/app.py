"""The web app of `hooksim serve`: by ``server.role``, all of hooksim on one port (API, pages,
receiver hooks, delivery) or one part of it, for running the parts as separate processes."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from dispatcher.api import SERVICE
from dispatcher.app import setup_dispatcher
from dispatcher.clock import Clock, shared_clock
from dispatcher.platform_clock import PlatformClock
from hooksim.auth import ACCESS, setup_auth
from hooksim.demo import setup_demo
from hooksim.health import setup_health
from hooksim.metrics import setup_metrics
from hooksim.portal import setup_portal
from hooksim.settings import Settings
from receiver import setup_receiver
from storage.credentials import AUTH_SCHEMA
from storage.dispatch_schema import DISPATCH_SCHEMA
from storage.messages import RECEIVER_SCHEMA
from storage.notifications import NOTIFICATIONS_SCHEMA
from storage.schema import Schema
from storage.event_log import EventLog
from storage.web import DATABASE, setup_database
from toastapi import Platform, setup_toast_api
from web.routes import json_errors_under_api

SETTINGS = web.AppKey("settings", Settings)


# The tables each role uses (None: every component's). A role migrates only its own, so a
# receiver process runs on PostgreSQL whatever else is ported.
_SCHEMAS: dict[str, tuple[Schema, ...] | None] = {
    "all": None,
    "dispatcher": (DISPATCH_SCHEMA, NOTIFICATIONS_SCHEMA),
    "receiver": (AUTH_SCHEMA, RECEIVER_SCHEMA),
    "api": (AUTH_SCHEMA, DISPATCH_SCHEMA, NOTIFICATIONS_SCHEMA),
}


def clock_for(settings: Settings) -> Clock:
    """Platform time for this process.

    Real time at ``clock.time_scale`` 1. Compressed, one process doing everything: exact (a
    :class:`PlatformClock` with the scale as its most compression). Compressed across processes
    sharing a database (``clock.origin`` set, or a role other than ``all``): wall time times the
    scale, which every process can compute alike but which is not exact (see the README).
    """
    scale, origin = settings.clock.time_scale, settings.clock.origin
    if scale == 1.0 or origin or settings.server.role != "all":
        return shared_clock(scale, origin)
    return PlatformClock(max_scale=scale)


def build_app(settings: Settings, *, clock: Clock | None = None) -> web.Application:
    """Compose the app for ``server.role`` from each component's ``setup_x(app)``; order is
    start-up order.

    - ``all``: everything in one process (the default);
    - ``dispatcher``: the delivery engine, the notification outbox sender, the demo stream;
    - ``receiver``: ``/hooks/{name}`` and the receiver's inspection API, with login;
    - ``api``: the admin API, the portal and login; events it makes wait in the outbox for a
      dispatcher process.

    Every role serves ``/healthz``, ``/readyz`` and (``metrics.enabled``) ``/metrics``. Several
    processes share the work through the database.
    """
    role = settings.server.role
    app = web.Application(middlewares=[json_errors_under_api])   # 404/405 under /api as JSON
    app[SETTINGS] = settings
    clock = clock or clock_for(settings)
    setup_database(app, settings.storage, _SCHEMAS[role])
    if role != "dispatcher":
        setup_auth(app, settings.auth)  # wall-clock token expiry, whatever clock.time_scale says
    if role != "receiver":
        setup_dispatcher(app, settings.dispatcher, settings.backoff, settings.smtp, clock,
                         shutdown_timeout=settings.server.shutdown_timeout,
                         api=role != "dispatcher", deliver=role != "api",
                         disorder=settings.disorder)
    receiver = role == "receiver" or (role == "all" and settings.receiver.enabled)
    if receiver:
        # Fault phases play on platform time, in step with the dispatcher's waits.
        setup_receiver(app, settings.receiver, clock=clock.now)
    if role in ("all", "dispatcher"):
        setup_demo(app, settings.demo, seed=settings.dispatcher.seed, receiver_enabled=receiver)
    if role in ("all", "api"):
        setup_portal(app, settings, receiver_enabled=receiver)
        setup_toast_api(app, settings.toast_api, toast_platform(settings))
    setup_health(app, settings.dispatcher, _SCHEMAS[role])
    if settings.metrics.enabled:
        setup_metrics(app, settings)
    return app


def toast_platform(settings: Settings) -> Callable[[web.Application], Platform]:
    """What Toast's paths read, from the running app: its events, world, clock and login."""

    def platform_of(app: web.Application) -> Platform:
        service, access = app[SERVICE], app[ACCESS]
        return Platform(EventLog(app[DATABASE]), service.restaurants, service.clock.now,
                        settings.toast_api, access.issue_token, access.session_client)

    return platform_of


def build_receiver_app(settings: Settings) -> web.Application:
    """The receiver alone (`hooksim receive`): hooks, inspection API with its login, health."""
    app = web.Application(middlewares=[json_errors_under_api])   # 404/405 under /api as JSON
    app[SETTINGS] = settings
    setup_database(app, settings.storage, _SCHEMAS["receiver"])
    setup_auth(app, settings.auth)
    setup_receiver(app, settings.receiver)
    setup_health(app, settings.dispatcher, _SCHEMAS["receiver"])
    if settings.metrics.enabled:
        setup_metrics(app, settings)
    return app
