"""Toast's fallback APIs at Toast's own paths, on the same server as the webhooks.

An integration swaps only its base URL: ``/authentication/v1/authentication/login``, then
``/orders/v2/...`` and the other read APIs a webhook integrator polls (docs/fallback-apis.md).
Every answer is read from the events the platform made (storage.event_log), so what the API
shows is what a webhook announced, or would have announced when it was Not sent.

Imports dispatcher (the catalogue, the world) and storage; never receiver, never hooksim.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from aiohttp import web

from toastapi.access import LOGIN_PATH, PLATFORM, Platform, login
from toastapi.menus import routes as menu_routes
from toastapi.orders import routes as order_routes
from toastapi.restaurants import routes as restaurant_routes
from toastapi.settings import ToastApiSettings

__all__ = ["LOGIN_PATH", "PLATFORM", "Platform", "ToastApiSettings", "setup_toast_api"]


def setup_toast_api(app: web.Application, settings: ToastApiSettings,
                    platform_of: Callable[[web.Application], Platform]) -> None:
    """Serve Toast's paths (``settings.enabled``). ``platform_of`` builds the :class:`Platform`
    when the app starts, after the database, the dispatcher and the login it reads from."""
    if not settings.enabled:
        return

    async def platform_ctx(app: web.Application) -> AsyncIterator[None]:
        app[PLATFORM] = platform_of(app)
        yield

    app.cleanup_ctx.append(platform_ctx)
    app.router.add_post(LOGIN_PATH, login)
    for routes in (order_routes, restaurant_routes, menu_routes):
        app.router.add_routes(routes)
