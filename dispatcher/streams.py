"""Event streams on the platform clock: ``rate`` events per platform second for ``duration``.

Event ``i`` of a stream is made at platform time ``start + i / rate`` exactly, whatever the time
scale and however busy the machine: the stream parks on the clock until that moment and the event
carries it (envelope timestamp, due time). ``hooksim load`` feeds its subscription with one;
``hooksim serve`` runs them on request (``POST /api/streams``, ``hooksim events send --rate``), so
a walkthrough does not depend on how fast a shell loop runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from dispatcher.clock import Clock, iso
from dispatcher.service import MAX_EVENTS_PER_REQUEST, DispatcherService

log = structlog.get_logger("hooksim.streams")

MAX_STREAM_RATE = 1000.0            # events per platform second
MAX_STREAM_SECONDS = 30 * 86400.0   # platform seconds
MAX_RUNNING_STREAMS = 16            # at once, per server


@dataclass(frozen=True)
class Stream:
    category: str
    rate: float          # events per platform second
    duration: float      # platform seconds
    event_type: str | None = None
    subscription_guid: str | None = None   # None: every subscription of the category

    @property
    def events(self) -> int:
        """How many events the stream makes (event ``i`` is due at ``i / rate``)."""
        return max(1, int(self.rate * self.duration))


@dataclass
class Progress:
    """What a stream has done so far (read by the API and the load test's live display)."""

    made: int = 0
    late: float = 0.0          # platform seconds the latest event was made after its moment
    done: bool = False
    error: str | None = None


async def play(service: DispatcherService, clock: Clock, stream: Stream, *, start: float,
               progress: Progress | None = None,
               keep_going: Callable[[], bool] = lambda: True, ahead: float = 0.0) -> Progress:
    """Make the stream's events, each at its own platform moment; stops early when
    ``keep_going()`` turns false (checked before each batch).

    ``ahead`` > 0 (platform seconds; ``load``, whose database nobody else reads) commits each
    event that much before its moment, due then: the inputs are fixed in advance, so no decision
    changes, and the engine handles a paused subscription's events in one statement.
    """
    progress = progress or Progress()
    total, rate = stream.events, stream.rate
    while progress.made < total and keep_going():
        i = progress.made
        await clock.sleep_until(start + i / rate - ahead)
        # Every event whose moment has come: more than one when the clock met them late (it
        # runs at wall speed while an attempt is in flight, and a busy machine wakes late).
        horizon = clock.now() + 2 * ahead   # a chunk at a time: the next wake is ahead away
        due = min(total, max(i + 1, math.floor((horizon - start) * rate + 1e-9) + 1),
                  i + MAX_EVENTS_PER_REQUEST)
        times = [start + k / rate for k in range(i, due)]
        # Late: woken after the moment it slept until (the start, for the first events).
        progress.late = max(progress.late, clock.now() - max(start, times[0] - ahead))
        await service.send_events(category=stream.category, event_type=stream.event_type,
                                  times=times, subscription_guid=stream.subscription_guid)
        progress.made = due
    progress.done = True
    return progress


@dataclass
class RunningStream:
    id: int
    stream: Stream
    start: float
    progress: Progress
    task: asyncio.Task[Progress] = field(repr=False)

    def json(self) -> dict[str, object]:
        state = ("failed" if self.progress.error else "done" if self.progress.done
                 else "cancelled" if self.task.cancelled() else "running")
        return {"id": self.id, "category": self.stream.category,
                "eventType": self.stream.event_type, "ratePerSecond": self.stream.rate,
                "durationSeconds": self.stream.duration, "events": self.stream.events,
                "made": self.progress.made, "startedAt": iso(self.start),
                "endsAt": iso(self.start + (self.stream.events - 1) / self.stream.rate),
                "lateSeconds": round(self.progress.late, 3), "state": state}


class Streams:
    """The streams a server runs, in memory (they end with the process)."""

    def __init__(self, service: DispatcherService, clock: Clock) -> None:
        self._service, self._clock = service, clock
        self._ids = itertools.count(1)
        self.running: dict[int, RunningStream] = {}

    def busy(self) -> bool:
        """As many streams are running as one server runs at once."""
        return sum(not s.task.done() for s in self.running.values()) >= MAX_RUNNING_STREAMS

    def start(self, stream: Stream) -> RunningStream:
        start = self._clock.now()
        progress = Progress()
        task = self._clock.start_task(self._play(stream, start, progress))
        running = RunningStream(next(self._ids), stream, start, progress, task)
        self.running[running.id] = running
        log.info("stream.started", id=running.id, category=stream.category, rate=stream.rate,
                 events=stream.events)
        return running

    async def _play(self, stream: Stream, start: float, progress: Progress) -> Progress:
        try:
            return await play(self._service, self._clock, stream, start=start, progress=progress)
        except asyncio.CancelledError:
            raise
        except Exception as exc:   # storage trouble: the stream ends, the server goes on
            progress.error = f"{type(exc).__name__}: {exc}"
            log.warning("stream.failed", error=progress.error)
            return progress

    async def stop(self, stream_id: int) -> RunningStream | None:
        running = self.running.get(stream_id)
        if running is not None and not running.task.done():
            running.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running.task
        return running

    async def close(self) -> None:
        for stream_id in list(self.running):
            await self.stop(stream_id)
