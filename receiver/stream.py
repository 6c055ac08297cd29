"""Live messages: an in-process fan-out of stored messages, served as server-sent events.

Each stored message is published once, after its commit. A subscriber that falls too far behind
is ended (its client reconnects) rather than letting its queue grow without bound.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web

KEEPALIVE_SECONDS = 15.0  # an SSE comment this often also tells us when the client has gone
MAX_BACKLOG = 1000
_END = object()


class Subscription:
    def __init__(self) -> None:
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._ended = False

    def offer(self, event: dict[str, Any]) -> None:
        if self._ended:
            return
        if self._queue.qsize() >= MAX_BACKLOG:
            self.end()
        else:
            self._queue.put_nowait(event)

    def end(self) -> None:
        if not self._ended:
            self._ended = True
            self._queue.put_nowait(_END)

    async def next(self, timeout: float) -> dict[str, Any] | None:
        """The next event; None when the subscription has ended. TimeoutError if none comes."""
        async with asyncio.timeout(timeout):   # not wait_for: see receiver.hooks._wait
            item = await self._queue.get()
        return None if item is _END else item


class Hub:
    def __init__(self) -> None:
        self._subscribers: set[Subscription] = set()
        self._closed = False

    @contextmanager
    def subscribe(self) -> Iterator[Subscription]:
        subscription = Subscription()
        if self._closed:
            subscription.end()
        self._subscribers.add(subscription)
        try:
            yield subscription
        finally:
            self._subscribers.discard(subscription)

    @property
    def listening(self) -> bool:
        """Whether anyone would get a published event (so callers can skip building it)."""
        return bool(self._subscribers)

    @property
    def listeners(self) -> int:
        """How many live streams are open."""
        return len(self._subscribers)

    def publish(self, event: dict[str, Any]) -> None:
        for subscription in list(self._subscribers):
            subscription.offer(event)

    def close(self) -> None:
        """End every stream (at shutdown, so they do not hold it up)."""
        self._closed = True
        for subscription in list(self._subscribers):
            subscription.end()


async def serve_events(request: web.Request, hub: Hub, endpoint: str | None = None,
                       keepalive: float = KEEPALIVE_SECONDS) -> web.StreamResponse:
    """Stream ``hub``'s events (only ``endpoint``'s, if given) to the client until it leaves."""
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream", "Cache-Control": "no-cache",
        "X-Accel-Buffering": "no"})
    with hub.subscribe() as subscription:
        try:
            await response.prepare(request)
            await response.write(b": connected\n\n")
            while True:
                try:
                    event = await subscription.next(keepalive)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                if event is None:
                    break
                if endpoint is not None and event.get("endpoint") != endpoint:
                    continue
                data = json.dumps(event, separators=(",", ":"))
                await response.write(f"id: {event['id']}\ndata: {data}\n\n".encode())
        except ConnectionError:  # the client went away; nothing to tell anyone
            pass
    return response
