"""Group commit: concurrent requests share one transaction, and each waits until it is durable.

Handlers put their record and a future on a queue; one writer task takes everything waiting (up
to ``max_batch``) into one ``add_many`` transaction, then resolves every future. While one batch
is being written the next one gathers, so under load fsyncs are shared instead of queued.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import structlog

from storage import StorageError, StorageUnavailable
from storage.messages import MessageStore, NewMessage, ReceivedMessage

log = structlog.get_logger("hooksim.receiver")

_Item = tuple[NewMessage, "asyncio.Future[ReceivedMessage]"]


class GroupCommitter:
    def __init__(self, store: MessageStore, max_batch: int) -> None:
        self._store = store
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Item | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        # For tests and curiosity: transactions committed, and the most messages in one.
        self.batches = 0
        self.largest_batch = 0
        # Told of every committed transaction: (messages in it, seconds it took), e.g. metrics.
        self.observers: list[Callable[[int, float], None]] = []

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="receiver-group-commit")

    async def submit(self, message: NewMessage) -> ReceivedMessage:
        """Store ``message``; returns once its transaction has committed. Raises StorageError
        (StorageUnavailable when the database cannot be written now)."""
        if self._closed or self._task is None:
            raise StorageUnavailable("the receiver is stopping")
        future: asyncio.Future[ReceivedMessage] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((message, future))
        # If this caller is cancelled the record is still written: it is already queued.
        return await future

    async def close(self) -> None:
        """Write everything already queued, then stop the writer."""
        self._closed = True
        if self._task is not None:
            self._queue.put_nowait(None)
            await self._task

    async def _run(self) -> None:
        while True:
            item = await self._queue.get()
            batch: list[_Item] = []
            while item is not None:
                batch.append(item)
                if len(batch) >= self._max_batch or self._queue.empty():
                    break
                item = self._queue.get_nowait()
            if batch:
                await self._write(batch)
            if item is None:
                return

    async def _write(self, batch: list[_Item]) -> None:
        started = time.perf_counter()
        try:
            stored = await self._store.add_many([message for message, _ in batch])
        except Exception as exc:  # noqa: BLE001 - every waiter must hear of it, whatever it is
            if not isinstance(exc, StorageError):
                log.exception("receiver.store_failed", batch=len(batch))
                exc = StorageError(f"could not store the message: {type(exc).__name__}")
            else:
                log.warning("receiver.store_unavailable", batch=len(batch), error=str(exc))
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        self.batches += 1
        self.largest_batch = max(self.largest_batch, len(batch))
        for observe in self.observers:
            observe(len(batch), time.perf_counter() - started)
        log.info("receiver.batch_stored", messages=len(stored), first_id=stored[0].id,
                 last_id=stored[-1].id, endpoints=sorted({m.endpoint for m in stored}),
                 duplicates=sum(m.duplicate_count > 0 for m in stored))
        if log.is_enabled_for(logging.DEBUG):   # asked once per transaction, not per message
            for m in stored:
                if m.accepted:   # the handler logs rejections, at info
                    log.debug("receiver.stored", endpoint=m.endpoint, id=m.id,
                              event_guid=m.event_guid, status=m.status,
                              duplicate=m.duplicate_count, fault=m.fault, verified=m.verified)
        for (_, future), message in zip(batch, stored, strict=True):
            if not future.done():
                future.set_result(message)
