"""aiohttp wiring: ``setup_dispatcher(app, ...)`` adds the engine, its ClientSession and the API."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from dispatcher.api import SERVICE, routes
from dispatcher.backoff import rules_from_settings
from dispatcher.clock import Clock
from dispatcher.engine import DeliveryEngine, TransitionHook
from dispatcher.http import HttpSender, new_session
from dispatcher.service import DispatcherService
from dispatcher.settings import BackoffSettings, DispatcherSettings
from storage.deliveries import DeliveryStore
from storage.web import DATABASE

ENGINE = web.AppKey("dispatcher_engine", DeliveryEngine)


def setup_dispatcher(
    app: web.Application,
    settings: DispatcherSettings,
    backoff: BackoffSettings,
    clock: Clock,
    *,
    time_scale: float = 1.0,
    shutdown_timeout: float = 10.0,
    on_transition: TransitionHook | None = None,
) -> None:
    """Serve the admin API and, while the app runs, deliver. Needs ``setup_database`` first."""
    rules = rules_from_settings(backoff)

    async def dispatcher_ctx(app: web.Application) -> AsyncIterator[None]:
        session = new_session(settings)
        engine = DeliveryEngine(
            DeliveryStore(app[DATABASE]), HttpSender(session, settings.response_excerpt_bytes),
            clock, settings, rules, on_transition=on_transition, time_scale=time_scale)
        app[ENGINE] = engine
        app[SERVICE] = DispatcherService(app[DATABASE], clock, settings, rules,
                                         wake=engine.wake, on_transition=on_transition)
        if settings.enabled:
            engine.start()
        yield
        await engine.stop(timeout=shutdown_timeout)
        await session.close()

    app.cleanup_ctx.append(dispatcher_ctx)
    app.router.add_routes(routes)
