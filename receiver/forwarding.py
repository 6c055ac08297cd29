"""Forwarding: re-send each accepted message to the developer's own app, in the background.

The same method, the same raw body bytes and the original headers (hop-by-hop ones aside), so
Toast-Signature still verifies there. A bounded queue and a few workers: a slow or dead target
never slows the receiver's answer; when the queue is full the forward is dropped and that is
recorded. The outcome (status or error) is stored beside the message.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import aiohttp
import structlog
from multidict import CIMultiDict

from storage import StorageError
from storage.messages import ForwardResult, MessageStore, ReceivedMessage

log = structlog.get_logger("hooksim.receiver")

# Headers that describe one connection, not the message; aiohttp sets its own. The body we hold
# is already decoded, so a Content-Encoding would no longer be true.
HOP_BY_HOP = frozenset({
    "host", "content-length", "connection", "transfer-encoding", "keep-alive", "te", "trailer",
    "upgrade", "proxy-connection", "proxy-authenticate", "proxy-authorization",
    "content-encoding",
})
# Without these, aiohttp would add headers the original request did not have.
NO_AUTO_HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")


def forward_headers(headers: tuple[tuple[str, str], ...]) -> CIMultiDict[str]:
    return CIMultiDict((name, value) for name, value in headers if name.lower() not in HOP_BY_HOP)


class Forwarder:
    def __init__(self, session: aiohttp.ClientSession, store: MessageStore,
                 wall: Callable[[], float], workers: int = 8, max_pending: int = 1000) -> None:
        self._session = session
        self._store = store
        self._wall = wall
        self._queue: asyncio.Queue[tuple[ReceivedMessage, str]] = asyncio.Queue(max_pending)
        self._workers = [asyncio.create_task(self._work(), name=f"receiver-forward-{i}")
                         for i in range(workers)]
        self._side_tasks: set[asyncio.Task[None]] = set()

    def forward(self, message: ReceivedMessage, target: str) -> None:
        """Queue ``message`` for ``target``; never waits."""
        try:
            self._queue.put_nowait((message, target))
        except asyncio.QueueFull:
            log.warning("receiver.forward_dropped", id=message.id, target=target)
            task = asyncio.create_task(self._record(
                message.id, ForwardResult(None, "dropped: forward queue full", self._wall())))
            self._side_tasks.add(task)
            task.add_done_callback(self._side_tasks.discard)

    async def join(self) -> None:
        """Wait until every queued forward has been sent and recorded (tests use this)."""
        await self._queue.join()

    async def close(self) -> None:
        """Cancel what is in flight: forwards are best effort and must not hold up shutdown."""
        tasks = [*self._workers, *self._side_tasks]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _work(self) -> None:
        while True:
            message, target = await self._queue.get()
            try:
                await self._record(message.id, await self._send(message, target))
            finally:
                self._queue.task_done()

    async def _send(self, message: ReceivedMessage, target: str) -> ForwardResult:
        try:
            async with self._session.request(
                message.method, target, data=message.body,
                headers=forward_headers(message.headers), allow_redirects=False,
                skip_auto_headers=NO_AUTO_HEADERS,
            ) as response:
                with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                    await response.read()  # let the connection be reused
                result = ForwardResult(response.status, None, self._wall())
        except asyncio.TimeoutError:
            result = ForwardResult(None, "timeout", self._wall())
        except (aiohttp.ClientError, ValueError, OSError) as exc:  # refused, reset, bad URL...
            result = ForwardResult(None, f"{type(exc).__name__}: {exc}"[:300], self._wall())
        log.info("receiver.forwarded", id=message.id, target=target, status=result.status,
                 error=result.error)
        return result

    async def _record(self, message_id: int, result: ForwardResult) -> None:
        try:
            await self._store.set_forward_result(message_id, result)
        except StorageError as exc:
            log.warning("receiver.forward_result_lost", id=message_id, error=str(exc))
