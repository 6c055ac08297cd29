"""Clocks of platform time (its ISO-8601 form: tests/web/test_times.py). No test waits in wall time."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import pytest

import dispatcher.clock
from dispatcher.clock import Clock, FakeClock, ScaledClock

MARCH_28 = 1_711_638_661.05  # 2024-03-28T15:11:01.050Z


# --- ScaledClock ----------------------------------------------------------------------------


class Ticks:
    """A settable stand-in for time.time / time.monotonic."""

    def __init__(self, value: float) -> None:
        self.value = value

    def __call__(self) -> float:
        return self.value


def test_scaled_clock_runs_platform_time_faster() -> None:
    wall, monotonic = Ticks(MARCH_28), Ticks(500.0)
    clock = ScaledClock(time_scale=60.0, wall=wall, monotonic=monotonic)
    assert clock.now() == MARCH_28
    monotonic.value += 10.0
    assert clock.now() == MARCH_28 + 600.0


def test_scaled_clock_ignores_wall_clock_jumps() -> None:
    wall, monotonic = Ticks(MARCH_28), Ticks(0.0)
    clock = ScaledClock(wall=wall, monotonic=monotonic)
    wall.value -= 3600.0
    monotonic.value += 1.0
    assert clock.now() == MARCH_28 + 1.0


def test_scaled_clock_explicit_origin() -> None:
    clock = ScaledClock(time_scale=2.0, origin=0.0, wall=Ticks(MARCH_28), monotonic=Ticks(7.0))
    assert clock.now() == 0.0


@pytest.mark.parametrize("scale", [0.0, -1.0])
def test_scaled_clock_needs_a_positive_scale(scale: float) -> None:
    with pytest.raises(ValueError):
        ScaledClock(time_scale=scale)


async def test_scaled_clock_sleeps_platform_seconds_divided_by_the_scale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    waited: list[float] = []

    async def record(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(dispatcher.clock, "asyncio", SimpleNamespace(sleep=record))
    await ScaledClock(time_scale=120.0).sleep(600.0)
    assert waited == [5.0]


def test_both_clocks_satisfy_the_protocol() -> None:
    assert isinstance(ScaledClock(), Clock)
    assert isinstance(FakeClock(), Clock)


# --- FakeClock ------------------------------------------------------------------------------


def test_fake_clock_is_settable_and_never_goes_back() -> None:
    clock = FakeClock(start=100.0)
    clock.advance(5.0)
    assert clock.now() == 105.0
    clock.set(200.0)
    assert clock.now() == 200.0
    with pytest.raises(ValueError):
        clock.set(199.0)
    with pytest.raises(ValueError):
        clock.advance(-1.0)


async def asleep(clock: FakeClock, seconds: float) -> asyncio.Task[None]:
    """A task that has gone to sleep on ``clock`` for ``seconds``."""
    sleeper = asyncio.create_task(clock.sleep(seconds))
    await clock.run_for(0.0)
    return sleeper


async def cancelled(clock: FakeClock, seconds: float) -> None:
    """Put a task to sleep on ``clock``, then cancel it."""
    sleeper = await asleep(clock, seconds)
    sleeper.cancel()
    await asyncio.gather(sleeper, return_exceptions=True)


async def test_sleep_waits_until_the_clock_is_advanced() -> None:
    clock = FakeClock(start=0.0)
    sleeper = await asleep(clock, 300.0)
    assert not sleeper.done()
    assert clock.next_deadline == 300.0

    clock.advance(299.0)
    await clock.run_for(0.0)
    assert not sleeper.done()
    clock.advance(1.0)
    await clock.run_for(0.0)
    assert sleeper.done()
    assert clock.next_deadline is None


async def test_non_positive_sleep_only_yields() -> None:
    clock = FakeClock(start=0.0)
    await clock.sleep(0.0)
    await clock.sleep(-5.0)
    assert (clock.now(), clock.next_deadline) == (0.0, None)


async def test_run_for_wakes_each_sleeper_at_its_own_deadline() -> None:
    """Ten platform minutes of a retrying worker and a 0.5 s poll loop, without waiting."""
    clock = FakeClock(start=0.0)
    attempts: list[float] = []
    polls = 0

    async def deliver() -> None:
        attempts.append(clock.now())
        for delay in (300.0, 600.0):
            await clock.sleep(delay)
            attempts.append(clock.now())

    async def poll() -> None:
        nonlocal polls
        while True:
            await clock.sleep(0.5)
            polls += 1

    tasks = [asyncio.create_task(deliver()), asyncio.create_task(deliver()), asyncio.create_task(poll())]
    await clock.run_for(900.0)
    assert attempts == [0.0, 0.0, 300.0, 300.0, 900.0, 900.0]  # concurrent sleeps do not add up
    assert polls == 1800
    assert clock.now() == 900.0
    tasks[2].cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_cancelled_sleeper_is_forgotten() -> None:
    clock = FakeClock(start=0.0)
    await cancelled(clock, 10.0)
    clock.advance(20.0)  # waking it would raise InvalidStateError
    assert clock.next_deadline is None

    await cancelled(clock, 10.0)
    assert clock.next_deadline is None


def test_shared_clock_agrees_across_processes_started_at_different_times() -> None:
    """Two processes with one clock.origin read the same platform time at the same wall time,
    though they started 10 s apart (a time-scaled multi-process run needs this)."""
    from dispatcher.clock import shared_clock

    wall = [1_000_010.0]
    early = shared_clock(60.0, origin=1_000_000.0, wall=lambda: wall[0] - 10.0)
    late = shared_clock(60.0, origin=1_000_000.0, wall=lambda: wall[0])
    # Each reads origin + (its start - origin) x 60 at its start: 10 s apart is 600 s apart,
    # which the 10 s the early one has run since make up (monotonic time, as in ScaledClock).
    assert abs(early.now() - (late.now() - 600.0)) < 1.0
    assert abs(late.now() - (1_000_000.0 + 10.0 * 60.0)) < 1.0
    assert shared_clock(60.0).origin == pytest.approx(time.time(), abs=5)   # 0: this process
