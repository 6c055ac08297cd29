"""Platform time: the clock the dispatcher reads and sleeps on, and its ISO-8601 text form.

Everything in the dispatcher is expressed in platform seconds (epoch seconds). The real clock can
run platform time faster than wall time, so a 10-minute retry wait can be watched in seconds; the
fake clock moves only when a test moves it.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    def now(self) -> float:
        """Platform time, epoch seconds."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of platform time."""
        ...


class ScaledClock:
    """The real clock; ``time_scale`` > 1 runs platform time that many times faster than wall time.

    ``platform = origin + elapsed * time_scale``. Elapsed time comes from the monotonic clock, so
    a wall-clock jump (NTP, DST, an operator) never moves platform time; the wall clock only
    supplies the default origin.
    """

    def __init__(
        self,
        time_scale: float = 1.0,
        origin: float | None = None,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if time_scale <= 0:
            raise ValueError(f"time_scale must be positive, got {time_scale}")
        self.time_scale = time_scale
        self.origin = wall() if origin is None else origin
        self._monotonic = monotonic
        self._started = monotonic()

    def now(self) -> float:
        return self.origin + (self._monotonic() - self._started) * self.time_scale

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self.time_scale)


def shared_clock(time_scale: float = 1.0, origin: float = 0.0,
                 wall: Callable[[], float] = time.time) -> ScaledClock:
    """The platform clock of one process among several: with the same ``origin`` (epoch
    seconds, not 0) every process reads ``origin + (wall - origin) * time_scale``, whenever it
    started, so compressed time agrees across dispatcher and receiver processes. ``origin`` 0
    (or time_scale 1) starts platform time at this process's wall time, as before."""
    if not origin or time_scale == 1.0:
        return ScaledClock(time_scale, wall=wall)
    return ScaledClock(time_scale, origin=origin + (wall() - origin) * time_scale, wall=wall)


class FakeClock:
    """Virtual time for tests: it stands still until the test moves it.

    :meth:`sleep` parks the caller until the clock reaches its deadline. The test moves the clock
    with :meth:`advance` / :meth:`set` (one jump; sleepers due by then wake, all seeing the new
    time) or with :meth:`run_for`, which steps from deadline to deadline so every sleeper wakes
    at exactly its own deadline, and gives woken tasks ``turns_per_step`` turns of the event loop
    to run up to their next sleep. Ten platform minutes of a worker thus take milliseconds.
    Woken code that waits on real I/O needs real waiting besides.
    """

    turns_per_step = 10

    def __init__(self, start: float = 1_711_638_661.0) -> None:
        self._now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()  # ties on a deadline wake in the order they went to sleep

    def now(self) -> float:
        return self._now

    def set(self, t: float) -> None:
        """Jump to platform time ``t`` and wake every sleeper due by then."""
        if t < self._now:
            raise ValueError(f"platform time cannot go backwards: {t} < {self._now}")
        self._now = t
        while self._sleepers and self._sleepers[0][0] <= t:
            _, _, woken = heapq.heappop(self._sleepers)
            if not woken.done():  # a cancelled sleeper's future is already done
                woken.set_result(None)

    def advance(self, seconds: float) -> None:
        self.set(self._now + seconds)

    @property
    def next_deadline(self) -> float | None:
        """When the earliest sleeper wakes, or None if nobody sleeps."""
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)
        return self._sleepers[0][0] if self._sleepers else None

    async def run_for(self, seconds: float) -> None:
        """Let ``seconds`` of platform time pass, waking each sleeper at its own deadline."""
        end = self._now + seconds
        await self._let_run()
        while (deadline := self.next_deadline) is not None and deadline <= end:
            self.set(deadline)
            await self._let_run()
        self.set(end)
        await self._let_run()

    async def sleep(self, seconds: float) -> None:
        deadline = self._now + seconds
        if deadline <= self._now:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (deadline, next(self._order), future))
        await future

    async def _let_run(self) -> None:
        for _ in range(self.turns_per_step):
            await asyncio.sleep(0)


def iso(t: float) -> str:
    """``2024-03-28T15:11:01.050Z``: UTC, exactly three fraction digits (rounded to the nearest ms)."""
    seconds, millis = divmod(round(t * 1000), 1000)
    return f"{datetime.fromtimestamp(seconds, UTC):%Y-%m-%dT%H:%M:%S}.{millis:03d}Z"


def parse_iso(text: str) -> float:
    """Epoch seconds of an ISO-8601 time with a zone (``Z`` or an offset); naive times are refused."""
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"ISO time without a zone is ambiguous: {text!r}")
    return parsed.timestamp()
