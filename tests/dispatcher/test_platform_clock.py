"""PlatformClock: exact compressed time. Every assertion is about platform time; wall time only
ever appears as a lower bound that the monotonic clock guarantees, never as a limit a busy
machine could break."""

from __future__ import annotations

import asyncio
import math
import time

import pytest

from dispatcher.clock import Clock, Wakeup
from dispatcher.platform_clock import PlatformClock

T0 = 1_711_638_661.0


def busy(seconds: float) -> None:
    """Block the event loop, as a busy machine or a slow batch does."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def test_it_is_a_clock() -> None:
    assert isinstance(PlatformClock(T0), Clock)
    with pytest.raises(ValueError):
        PlatformClock(T0, max_scale=0)


async def test_an_idle_wait_is_skipped_and_lands_exactly_on_its_deadline() -> None:
    clock = PlatformClock(T0)
    await clock.sleep(3600)
    assert clock.now() == T0 + 3600
    assert clock.compression() > 1000   # an hour in (much) less than 3.6 s


async def test_time_stands_still_while_work_is_held_whatever_the_machine_does() -> None:
    clock = PlatformClock(T0)
    clock.hold()
    busy(0.05)
    await asyncio.sleep(0.02)
    assert clock.now() == T0
    clock.release()
    with pytest.raises(RuntimeError):
        clock.release()


async def test_an_attempt_in_flight_counts_one_to_one() -> None:
    clock = PlatformClock(T0, max_scale=math.inf)
    clock.hold()   # e.g. the claimed attempt
    with clock.flight():
        wall = time.monotonic()
        await asyncio.sleep(0.05)
        elapsed = time.monotonic() - wall
    during = clock.now() - T0
    assert during >= 0.05 and during == pytest.approx(elapsed, abs=0.01)
    busy(0.03)   # recording afterwards: held, no platform time
    assert clock.now() - T0 == during
    clock.release()


async def test_sleepers_wake_in_deadline_order_each_at_its_own_moment() -> None:
    clock = PlatformClock(T0)
    seen: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        seen.append((name, clock.now()))
        busy(0.01)   # the woken task works: the clock waits for it

    await asyncio.gather(*(clock.start_task(sleeper(n, s))
                           for n, s in [("c", 30.0), ("a", 10.0), ("b", 20.0), ("a2", 10.0)]))
    assert seen == [("a", T0 + 10), ("a2", T0 + 10), ("b", T0 + 20), ("c", T0 + 30)]


async def test_a_woken_task_holds_time_until_it_parks_again() -> None:
    clock = PlatformClock(T0)
    order: list[str] = []

    async def slow_worker() -> None:
        await clock.sleep(5)
        order.append(f"worker woke at {clock.now() - T0:g}")
        await asyncio.sleep(0.05)   # real waiting (a database, say): still held
        order.append(f"worker done at {clock.now() - T0:g}")

    async def other() -> None:
        await clock.sleep(6)
        order.append(f"other woke at {clock.now() - T0:g}")

    await asyncio.gather(clock.start_task(slow_worker()), clock.start_task(other()))
    assert order == ["worker woke at 5", "worker done at 5", "other woke at 6"]


async def test_a_wakeup_wakes_its_waiter_at_once_and_hands_it_the_clock() -> None:
    clock = PlatformClock(T0)
    wakeup = Wakeup()
    order: list[str] = []

    async def engine() -> None:
        await clock.wait(wakeup, until=T0 + 100)
        order.append(f"engine woke at {clock.now() - T0:g}")
        await asyncio.sleep(0.02)   # its claim: the producer's next moment must wait for it
        order.append(f"engine parked at {clock.now() - T0:g}")
        await clock.wait(Wakeup(), until=T0 + 100)

    async def producer() -> None:
        await clock.sleep(1)
        wakeup.set()
        await clock.sleep(1)   # parks at once: only the engine holds the clock now
        order.append(f"producer woke at {clock.now() - T0:g}")

    tasks = [clock.start_task(engine()), clock.start_task(producer())]
    await tasks[1]
    assert order == ["engine woke at 1", "engine parked at 1", "producer woke at 2"]
    await tasks[0]
    assert clock.now() == T0 + 100


async def test_a_wait_without_a_deadline_is_not_a_moment_to_jump_to() -> None:
    clock = PlatformClock(T0)
    wakeup = Wakeup()
    waiter = clock.start_task(clock.wait(wakeup))
    await clock.sleep(7)
    assert clock.now() == T0 + 7 and not waiter.done()
    wakeup.set()
    await waiter
    assert clock.now() == T0 + 7


async def test_a_wait_ends_at_its_deadline_when_nobody_sets_the_wakeup() -> None:
    clock = PlatformClock(T0)
    wakeup = Wakeup()
    await clock.wait(wakeup, until=T0 + 42)
    assert clock.now() == T0 + 42 and not wakeup.is_set()
    wakeup.set()
    await clock.wait(wakeup, until=T0 + 1000)   # already set: returns at once
    assert clock.now() == T0 + 42


async def test_a_capped_scale_never_overshoots_a_deadline_however_late_the_loop_is() -> None:
    clock = PlatformClock(T0, max_scale=1000)
    woke: list[float] = []

    async def sleeper() -> None:
        await clock.sleep(5)   # 5 ms of wall time at 1000x
        woke.append(clock.now())

    task = clock.start_task(sleeper())
    await asyncio.sleep(0)
    busy(0.05)   # 50 platform seconds at 1000x, had the clock been wall x scale
    await task
    assert woke == [T0 + 5]


async def test_a_capped_scale_is_the_most_compression() -> None:
    clock = PlatformClock(T0, max_scale=100)
    wall = time.monotonic()
    await clock.sleep(5)
    assert time.monotonic() - wall >= 5 / 100 * 0.9   # the cap holds (a lower bound on wall time)
    assert clock.now() == T0 + 5


async def test_a_deadline_met_late_in_flight_is_measured() -> None:
    clock = PlatformClock(T0)
    clock.hold()

    async def sleeper() -> None:
        await clock.sleep(0.01)

    with clock.flight():
        task = clock.start_task(sleeper())
        await asyncio.sleep(0)
        busy(0.06)   # the loop cannot run the timer at its moment
        await task
    clock.release()
    assert clock.max_lateness >= 0.04


async def test_a_cancelled_sleeper_or_a_finished_task_blocks_nothing() -> None:
    clock = PlatformClock(T0)
    clock.hold()   # nothing moves until the sleeper is gone
    stuck = clock.start_task(clock.sleep(10))
    await asyncio.sleep(0)
    stuck.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stuck
    clock.release()
    ended = clock.start_task(asyncio.sleep(0))   # held from its start, released as it ends
    await ended
    await clock.sleep(5)
    assert clock.now() == T0 + 5   # not pulled to the cancelled sleeper's 10
