"""The recorder: attempt results gathered into batches and recorded one batch at a time.

Senders hand each result over with :meth:`ResultRecorder.add`; the recorder waits a moment for
more while attempts are still in flight (fewer, larger transactions), then records up to
:data:`RECORD_BATCH` of them in one unit of work (:mod:`dispatcher.unit_of_work`). The engine
says how to record a batch and what to do once it has been (free its slots).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

from dispatcher.settings import DispatcherSettings
from dispatcher.unit_of_work import AttemptResult

log = structlog.get_logger("hooksim.dispatcher")

RECORD_BATCH = 500
# Once a result is in and others are still in flight, the recorder waits this long (wall
# seconds) at most for more, up to half the slots: each recording transaction has fixed costs
# (its commit and fsync, the reads every batch makes, a hand-over, a log line) worth ~15 us per
# attempt at ~20 attempts a batch. Tiny next to a lease (seconds), so no result outlives one.
GATHER_WALL = 0.002


class ResultRecorder:
    def __init__(self, record: Callable[[list[AttemptResult]], Awaitable[None]], *,
                 settings: DispatcherSettings, in_flight: Callable[[], int],
                 recorded: Callable[[int], None], failed: Callable[[], None]) -> None:
        """``record`` commits a batch; ``in_flight`` counts attempts started and not yet
        recorded; ``recorded(n)`` is told after each batch, committed or not; ``failed`` after
        a batch that could not be recorded (its deliveries stay PENDING with a lease)."""
        self._record, self._in_flight = record, in_flight
        self._recorded, self._failed = recorded, failed
        self._settings = settings
        self._results: list[AttemptResult] = []
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def add(self, result: AttemptResult) -> None:
        self._results.append(result)
        self._ready.set()

    def ensure_running(self) -> None:
        """Start the recording task (again, after :meth:`stop`)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._record_forever())   # held per result

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _record_forever(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            while self._results:
                await self._gather()
                batch, self._results = self._results[:RECORD_BATCH], self._results[RECORD_BATCH:]
                try:
                    await self._record(batch)
                except Exception:
                    # Not recorded means still PENDING with a lease: it is sent again later.
                    log.exception("dispatcher.record_failed", attempts=len(batch))
                    self._failed()
                self._recorded(len(batch))

    async def _gather(self) -> None:
        """Let results gather up to half the slots while attempts are in flight, for
        :data:`GATHER_WALL` at most."""
        target = min(RECORD_BATCH, max(1, self._settings.concurrency // 2))
        if len(self._results) >= target or self._in_flight() <= len(self._results):
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(GATHER_WALL):
                while len(self._results) < target and self._in_flight() > len(self._results):
                    self._ready.clear()
                    await self._ready.wait()
