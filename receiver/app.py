"""Wiring the receiver into an aiohttp app: routes, and the background parts' lifetimes."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Callable

import aiohttp
import structlog
from aiohttp import web

from receiver.running import ENDPOINTS, RECEIVER, Receiver
from receiver.endpoints import Endpoints
from receiver.forwarding import Forwarder
from receiver.groupcommit import GroupCommitter
from receiver.hooks import handle_hook
from receiver.inspect_api import routes as inspect_routes
from receiver.settings import ReceiverSettings
from receiver.stream import Hub
from storage import StorageError
from storage.messages import MessageStore
from storage.web import DATABASE

log = structlog.get_logger("hooksim.receiver")

PRUNE_INTERVAL_SECONDS = 30.0
_FORWARD_CONNECTIONS = 32


def setup_receiver(
    app: web.Application,
    settings: ReceiverSettings,
    *,
    clock: Callable[[], float] | None = None,
    wall: Callable[[], float] | None = None,
    rng: random.Random | None = None,
) -> None:
    """Add ``/hooks/{name}`` and the inspection API to ``app``.

    Call after ``storage.web.setup_database`` (the receiver starts after the database and stops
    before it). ``clock`` (monotonic seconds) plays fault schedules, ``wall`` (epoch seconds)
    stamps messages, ``rng`` draws failure rates; tests inject all three. Raises ValueError for
    invalid fault settings, naming the key.
    """
    clock = clock or time.monotonic
    wall = wall or time.time
    rng = rng or random.Random()
    endpoints = Endpoints(settings, clock)
    app[ENDPOINTS] = endpoints
    app.router.add_route("*", "/hooks/{name}", handle_hook)
    app.router.add_routes(inspect_routes)

    async def receiver_ctx(app: web.Application) -> AsyncIterator[None]:
        store = MessageStore(app[DATABASE])
        committer = GroupCommitter(store, settings.group_commit_max_batch)
        committer.start()
        session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=settings.forward_timeout),
            connector=aiohttp.TCPConnector(limit=_FORWARD_CONNECTIONS))
        forwarder = Forwarder(session, store, wall)
        receiver = Receiver(settings, endpoints, store, committer, forwarder, Hub(), clock, wall,
                            rng)
        app[RECEIVER] = receiver
        retention = asyncio.create_task(_retention(receiver), name="receiver-retention")
        try:
            yield
        finally:
            retention.cancel()
            await asyncio.gather(retention, return_exceptions=True)
            await forwarder.close()
            await session.close()
            await committer.close()  # after the handlers have finished: nothing is lost

    async def on_shutdown(app: web.Application) -> None:
        # Before aiohttp waits for handlers: hangs, delays and live streams end now.
        if RECEIVER in app:
            app[RECEIVER].stopping.set()
            app[RECEIVER].hub.close()

    app.cleanup_ctx.append(receiver_ctx)
    app.on_shutdown.append(on_shutdown)


async def prune_once(receiver: Receiver) -> int:
    """Apply ``max_messages`` and ``max_age_seconds`` once; returns how many were deleted."""
    settings = receiver.settings
    if not settings.max_messages and not settings.max_age_seconds:
        return 0
    older_than = receiver.wall() - settings.max_age_seconds if settings.max_age_seconds else None
    deleted = await receiver.store.prune(settings.max_messages, older_than)
    if deleted:
        log.info("receiver.pruned", deleted=deleted)
    return deleted


async def _retention(receiver: Receiver) -> None:
    while True:
        try:
            await prune_once(receiver)
        except StorageError as exc:  # try again next time round
            log.warning("receiver.prune_failed", error=str(exc))
        await asyncio.sleep(PRUNE_INTERVAL_SECONDS)
