"""Platform time: the clock the dispatcher reads and sleeps on (shown by :func:`web.times.iso`).

Everything in the dispatcher is expressed in platform seconds (epoch seconds). Three clocks:

- :class:`~dispatcher.platform_clock.PlatformClock`: exact compressed time for one process (a
  discrete-event scheduler; ``hooksim load``, ``hooksim serve`` with ``clock.time_scale`` > 1);
- :class:`ScaledClock`: wall time, or wall time times a scale that processes sharing one
  database agree on (not exact: the work each process does costs scaled platform time);
- :class:`FakeClock`: moves only when a test moves it.

The engine tells its clock what it is doing (:meth:`Clock.hold`, :meth:`Clock.flight`) and parks
on it (:meth:`Clock.wait`); only the platform clock makes use of what it is told.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, ContextManager, Protocol, runtime_checkable

from web.times import iso  # noqa: F401 - platform time is shown in the one format


class Wakeup:
    """A flag one task parks on through its clock (``clock.wait(wakeup, until)``); ``set()``
    wakes it at once. On a PlatformClock the woken task then holds platform time until it
    parks again, so nothing can jump ahead of what it was woken to do."""

    __slots__ = ("_set", "_waiter")

    def __init__(self) -> None:
        self._set = False
        self._waiter: Callable[[], None] | None = None

    def set(self) -> None:
        self._set = True
        if self._waiter is not None:
            self._waiter()

    def clear(self) -> None:
        self._set = False

    def is_set(self) -> bool:
        return self._set

    def on_set(self, waiter: Callable[[], None] | None) -> None:
        """Who to wake when set (the clock that a task parks on); None: nobody parks now."""
        self._waiter = waiter


@runtime_checkable
class Clock(Protocol):
    def now(self) -> float:
        """Platform time, epoch seconds."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of platform time."""
        ...

    async def sleep_until(self, deadline: float) -> None:
        """Wait until platform time ``deadline``."""
        ...

    async def wait(self, wakeup: Wakeup, until: float | None = None,
                   poll: float | None = None) -> None:
        """Wait until ``wakeup`` is set, platform time ``until``, or (clocks shared between
        processes, whose work may come from elsewhere) ``poll`` wall seconds."""
        ...

    def span(self, wall_seconds: float) -> float:
        """The most platform time that can pass in ``wall_seconds`` of an attempt in flight."""
        ...

    def start_task(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Start a task that acts on platform time."""
        ...

    def hold(self, count: int = 1) -> None:
        """``count`` pieces of work are pending (a claimed or unrecorded attempt)."""
        ...

    def release(self, count: int = 1) -> None:
        ...

    def holding(self) -> ContextManager[None]:
        ...

    def flight(self) -> ContextManager[None]:
        """An attempt's HTTP exchange is under way."""
        ...


class _WallPaced:
    """What the wall-paced clocks share: they are told of work and ignore it."""

    def start_task(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        return asyncio.create_task(coro)

    def hold(self, count: int = 1) -> None:
        pass

    def release(self, count: int = 1) -> None:
        pass

    @contextlib.contextmanager
    def holding(self) -> Iterator[None]:
        yield

    @contextlib.contextmanager
    def flight(self) -> Iterator[None]:
        yield


async def _wait_for(wakeup: Wakeup, future: asyncio.Future[None], wall: float | None) -> None:
    """Wait for ``future`` (which a platform deadline may resolve) or ``wakeup``, at most
    ``wall`` seconds."""
    if wakeup.is_set():
        await asyncio.sleep(0)
        return

    def woken() -> None:
        if not future.done():
            future.set_result(None)

    wakeup.on_set(woken)
    try:
        # asyncio.timeout, not wait_for: 3.11's wait_for can leave a cancelled caller hanging.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wall):
                await future
    finally:
        wakeup.on_set(None)
        if not future.done():
            future.cancel()   # no deadline left behind for a FakeClock to step to


class ScaledClock(_WallPaced):
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

    async def sleep_until(self, deadline: float) -> None:
        await self.sleep(max(0.0, deadline - self.now()))

    async def wait(self, wakeup: Wakeup, until: float | None = None,
                   poll: float | None = None) -> None:
        wall = poll
        if until is not None:
            due = max(0.0, (until - self.now()) / self.time_scale)
            wall = due if wall is None else min(wall, due)
        await _wait_for(wakeup, asyncio.get_running_loop().create_future(), wall)

    def span(self, wall_seconds: float) -> float:
        return wall_seconds * self.time_scale


def shared_clock(time_scale: float = 1.0, origin: float = 0.0,
                 wall: Callable[[], float] = time.time) -> ScaledClock:
    """The platform clock of one process among several: with the same ``origin`` (epoch
    seconds, not 0) every process reads ``origin + (wall - origin) * time_scale``, whenever it
    started, so compressed time agrees across dispatcher and receiver processes. ``origin`` 0
    (or time_scale 1) starts platform time at this process's wall time, as before."""
    if not origin or time_scale == 1.0:
        return ScaledClock(time_scale, wall=wall)
    return ScaledClock(time_scale, origin=origin + (wall() - origin) * time_scale, wall=wall)


class FakeClock(_WallPaced):
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
        await self.sleep_until(self._now + seconds)

    async def sleep_until(self, deadline: float) -> None:
        if deadline <= self._now:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (deadline, next(self._order), future))
        await future

    async def wait(self, wakeup: Wakeup, until: float | None = None,
                   poll: float | None = None) -> None:
        """Until ``wakeup``, platform time ``until`` (as the test moves the clock), or ``poll``
        wall seconds."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if until is not None:
            if until <= self._now:
                await asyncio.sleep(0)
                return
            heapq.heappush(self._sleepers, (until, next(self._order), future))
        await _wait_for(wakeup, future, poll)

    def span(self, wall_seconds: float) -> float:
        return wall_seconds

    async def _let_run(self) -> None:
        for _ in range(self.turns_per_step):
            await asyncio.sleep(0)
