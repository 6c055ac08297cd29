"""Exact compressed time: platform time as a discrete-event scheduler (spec section 8).

Platform time here is virtual. It moves in one of three ways, chosen afresh whenever the work in
the process changes:

- **in flight** (an attempt's HTTP exchange is under way): at wall speed, because the endpoint's
  latency is real and counts one to one (the platform's 2 s timeouts stay 2 real seconds);
- **held** (nothing in flight, but work is pending: a claim, a recording batch, an event being
  made): not at all, so the engine's own processing costs no platform time, however busy the
  machine is;
- **idle** (nothing in flight, nothing pending): straight to the next sleeper's deadline, or no
  faster than ``max_scale`` times wall time when a cap is set. It never passes a deadline whose
  sleeper has not yet run.

A task woken by the clock (a deadline reached, or its :class:`~dispatcher.clock.Wakeup` set)
holds time until it parks on the clock again or ends, so the work it does is instant in
platform time. Work started otherwise (a claimed delivery waiting for a sender, a result
waiting for its recording batch) is held explicitly with :meth:`hold` / :meth:`release`.

Given the same answers from an endpoint, every decision then happens at the same platform
moment at any ``max_scale`` and under any machine load. The one thing the clock cannot make
exact is a deadline that falls while an attempt is in flight: it is met in wall time, so a busy
machine can run it a little late; :attr:`max_lateness` says by how much, and a run reports it.

One process owns one such clock: processes sharing a database use
:class:`~dispatcher.clock.ScaledClock` instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import math
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from dispatcher.clock import Wakeup

_Sleeper = tuple[float, int, "asyncio.Future[None]", "asyncio.Task[Any] | None"]


class PlatformClock:
    def __init__(self, start: float | None = None, *, max_scale: float = math.inf,
                 monotonic: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        if not max_scale > 0:
            raise ValueError(f"max_scale must be positive, got {max_scale}")
        self.max_scale = max_scale
        self._mono = monotonic
        self._platform = wall() if start is None else start   # platform time at the anchor
        self._anchor = monotonic()
        self._rate = 0.0            # platform seconds per wall second since the anchor
        self._limit = math.inf      # never read past this (the next deadline, while idle)
        self._flights = 0
        self._holds = 0
        self._held: set[asyncio.Task[Any]] = set()
        self._sleepers: list[_Sleeper] = []
        self._order = itertools.count()   # ties on a deadline wake in the order they parked
        self._timer: asyncio.TimerHandle | None = None
        self._tick_pending = False
        self.max_lateness = 0.0     # platform seconds a deadline was met late (while in flight)
        self.started_wall = monotonic()
        self.started_platform = self._platform

    # -- reading -----------------------------------------------------------------------------
    def now(self) -> float:
        return min(self._platform + (self._mono() - self._anchor) * self._rate, self._limit)

    def span(self, wall_seconds: float) -> float:
        """The most platform time that can pass while this process has an attempt in flight
        for ``wall_seconds``: as much, since platform time runs at wall speed then."""
        return wall_seconds

    def compression(self) -> float:
        """Platform seconds that passed per wall second since the clock was made."""
        wall = self._mono() - self.started_wall
        return (self.now() - self.started_platform) / wall if wall > 0 else math.inf

    # -- parking -----------------------------------------------------------------------------
    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(self.now() + seconds)

    async def sleep_until(self, deadline: float) -> None:
        if deadline <= self.now():
            await asyncio.sleep(0)
            return
        await self._park(asyncio.get_running_loop().create_future(), deadline)

    async def wait(self, wakeup: Wakeup, until: float | None = None,
                   poll: float | None = None) -> None:
        """Park until ``wakeup`` is set or platform time reaches ``until``. ``poll`` (wall
        seconds, for clocks shared between processes) is not needed: in one process, whatever
        makes work sets the wakeup."""
        if wakeup.is_set() or (until is not None and until <= self.now()):
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        task = asyncio.current_task()

        def woken() -> None:
            if not future.done():
                future.set_result(None)
                self._hold_task(task)

        wakeup.on_set(woken)
        try:
            await self._park(future, until)
        finally:
            wakeup.on_set(None)

    def start_task(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """A task that acts on platform time: it holds time from its start until it parks."""
        task = asyncio.create_task(coro)
        self._hold_task(task)
        return task

    # -- work in progress --------------------------------------------------------------------
    def hold(self, count: int = 1) -> None:
        """``count`` pieces of work are pending: time waits for them (unless in flight)."""
        self._holds += count
        self._changed()

    def release(self, count: int = 1) -> None:
        self._holds -= count
        if self._holds < 0:
            raise RuntimeError("PlatformClock released more than it held")
        self._changed()

    @contextlib.contextmanager
    def holding(self) -> Iterator[None]:
        self.hold()
        try:
            yield
        finally:
            self.release()

    @contextlib.contextmanager
    def flight(self) -> Iterator[None]:
        """An attempt's HTTP exchange: real time counts one to one while it lasts."""
        self._flights += 1
        self._changed()
        try:
            yield
        finally:
            self._flights -= 1
            self._changed()

    # -- the scheduler -----------------------------------------------------------------------
    async def _park(self, future: asyncio.Future[None], deadline: float | None) -> None:
        """Wait for ``future``, which the scheduler resolves at ``deadline`` (None: only
        whoever else holds it can)."""
        task = asyncio.current_task()
        if deadline is not None:
            heapq.heappush(self._sleepers, (deadline, next(self._order), future, task))
        if task is not None:
            self._held.discard(task)
        self._changed()
        await future   # a cancelled sleeper's future is done: the scheduler skips it

    def _hold_task(self, task: asyncio.Task[Any] | None) -> None:
        if task is None or task.done() or task in self._held:
            return
        self._held.add(task)
        task.add_done_callback(self._task_done)
        self._changed()

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        if task in self._held:
            self._held.discard(task)
            self._changed()

    def _next_deadline(self) -> float | None:
        sleepers = self._sleepers
        while sleepers and sleepers[0][2].done():
            heapq.heappop(sleepers)
        return sleepers[0][0] if sleepers else None

    def _changed(self) -> None:
        """Flights, holds or sleepers changed: fold the time so far in at the old pace, take
        up the new one, and decide (soon, once) when the next sleeper wakes."""
        now = self.now()
        self._platform, self._anchor = now, self._mono()
        if self._flights:
            self._rate, self._limit = 1.0, math.inf
        elif self._holds or self._held:
            self._rate, self._limit = 0.0, math.inf
        elif math.isinf(self.max_scale):
            self._rate, self._limit = 0.0, math.inf   # idle: _tick jumps
        else:
            deadline = self._next_deadline()
            self._rate = self.max_scale
            self._limit = math.inf if deadline is None else max(deadline, now)
        if not self._tick_pending:
            self._tick_pending = True
            asyncio.get_running_loop().call_soon(self._tick)

    def _tick(self) -> None:
        self._tick_pending = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self._next_deadline()
        if deadline is None:
            return
        if not self._flights and (self._holds or self._held):
            return   # frozen until the pending work is done
        now = self.now()
        if deadline <= now or (not self._flights and math.isinf(self.max_scale)):
            self._wake_due(deadline)
            return
        rate = 1.0 if self._flights else self.max_scale
        self._timer = asyncio.get_running_loop().call_at(
            asyncio.get_running_loop().time() + (deadline - now) / rate, self._tick)

    def _wake_due(self, deadline: float) -> None:
        """Move to ``deadline`` (if not there yet) and wake every sleeper due by then."""
        now = self.now()
        if deadline > now:
            now = deadline   # a jump across an idle wait
        else:
            self.max_lateness = max(self.max_lateness, now - deadline)
        self._platform, self._anchor = now, self._mono()
        sleepers = self._sleepers
        while sleepers and sleepers[0][0] <= now:
            _, _, future, task = heapq.heappop(sleepers)
            if not future.done():
                future.set_result(None)
                self._hold_task(task)
        self._changed()
