"""Demo traffic for `hooksim serve`: on a fresh database, one subscription per category pointing
at the built-in receiver, and a gentle stream of realistic events, so `make run` shows live
traffic at once. Runs only through the dispatcher's service and the receiver's endpoint registry.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import structlog
from aiohttp import web

from dispatcher import events as catalogue
from dispatcher.api import SERVICE
from dispatcher.errors import DispatcherError
from dispatcher.service import DispatcherService
from dispatcher.settings import DemoSettings
from hooksim.runner import BASE_URL
from receiver import ENDPOINTS
from storage import StorageError

log = structlog.get_logger("hooksim.demo")

DEMO_EMAIL = "demo@localhost"


async def ensure_demo_subscriptions(service: DispatcherService, base: str) -> int:
    """Create one subscription per category at ``base/hooks/{category}`` if there are none."""
    if await service.subscriptions.count():
        return 0
    for category in catalogue.categories():
        await service.create_subscription(event_category=category, url=f"{base}/hooks/{category}",
                                          notification_email=DEMO_EMAIL)
    return len(catalogue.categories())


async def register_local_endpoints(service: DispatcherService, endpoints, base: str) -> None:
    """Give each receiver endpoint the secrets of the subscriptions that point at it."""
    secrets: dict[str, list[str]] = {}
    for sub in await service.list_subscriptions():
        parts = urlsplit(sub.url)
        if f"{parts.scheme}://{parts.netloc}" == base and parts.path.startswith("/hooks/"):
            secrets.setdefault(parts.path.removeprefix("/hooks/"), []).append(sub.secret)
    for name, names_secrets in secrets.items():
        with contextlib.suppress(ValueError):   # a path no endpoint could have
            endpoints.configure(name, tuple(names_secrets))


async def play(service: DispatcherService, settings: DemoSettings, rng: random.Random) -> None:
    categories = catalogue.categories()
    weights = [catalogue.CATEGORIES[name].demo_weight for name in categories]   # orders flow most
    while True:
        await asyncio.sleep(settings.interval_seconds)
        try:
            await service.send_events(category=rng.choices(categories, weights)[0])
        except (DispatcherError, StorageError) as exc:
            log.warning("demo.event_failed", error=str(exc))


def setup_demo(app: web.Application, settings: DemoSettings, *, seed: int = 0,
               receiver_enabled: bool = True) -> None:
    """Needs the dispatcher (and, for local endpoints, the receiver) set up before it."""
    async def demo_ctx(app: web.Application) -> AsyncIterator[None]:
        app[BASE_URL] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(_run(app, settings, seed, receiver_enabled))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app.cleanup_ctx.append(demo_ctx)


async def _run(app: web.Application, settings: DemoSettings, seed: int,
               receiver_enabled: bool) -> None:
    base = await app[BASE_URL]
    service = app[SERVICE]
    try:
        if settings.enabled and receiver_enabled:
            created = await ensure_demo_subscriptions(service, base)
            if created:
                log.info("demo.subscriptions_created", count=created, base=base)
        if receiver_enabled:
            await register_local_endpoints(service, app[ENDPOINTS], base)
    except (DispatcherError, StorageError) as exc:
        log.warning("demo.setup_failed", error=str(exc))
        return
    if settings.enabled:
        await play(service, settings, random.Random(seed))
