"""Issue #9: 3 dispatcher and 2 receiver processes on one PostgreSQL deliver 5 000 events through
a fault schedule while one dispatcher is SIGKILLed midway; the same scenario runs in one
``--role all`` process for comparison (tests/scale/scenario.py says what it is and why its
back-off transitions are fixed by the rules).

Checks, on both runs:
- no event lost: nothing PENDING at the end, each endpoint's deliveries end only in the
  statuses the scenario allows (the healthy ones all SUCCESS), every SUCCESS has a 2xx at its
  receiver;
- no attempt sent twice: no (endpoint, event GUID, Toast-Attempt-Number) reached the receivers
  twice, except attempts the killed dispatcher had in flight, re-sent once by a survivor after
  the lease lapsed (each dispatcher process sends its own User-Agent, so the receivers' rows
  say who sent what); no attempt row recorded twice;
- the back-off transitions are "identical": per subscription the same ordered list of
  (kind, errors in window, pauses in window), the expected one, and the same emails queued.
  Their times are not compared: they move with scheduling by design.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from dispatcher.clock import shared_clock
from storage.backends import open_storage
from storage.settings import StorageSettings
from tests.backends import postgres_dsn, postgres_schema
from tests.processes import start
from tests.scale import scenario
from tests.scale.scenario import (ALLOWED_STATUSES, ENV, EVENTS, EXPECTED_TRANSITIONS,
                                  FLAKY_SECONDS, STREAM_SECONDS, SUBSCRIPTIONS, TIME_SCALE)

pytestmark = pytest.mark.slow
_UA = "Apache-HttpClient/4.5.10 (Java/1.8.0_212)"
# Wall seconds after the last event is due by which nothing may be PENDING: the killed
# dispatcher's leases (8 s wall) lapsed long before; this is slack for a loaded machine.
_DRAIN_SECONDS = 30.0


@dataclass
class Run:
    outcome: scenario.Outcome
    seconds: float
    killed_agent: str | None = None
    pending_at_end: int = 0
    exit_codes: list[int] = field(default_factory=list)


async def _launch(cwd: Path, role: str, env: dict[str, str]) -> tuple[asyncio.subprocess.Process, str]:
    cwd.mkdir(parents=True)
    return await start(cwd, "serve", "--role", role, "--port", "0", **env)


async def _set_flaky_faults(base: str, cwd: Path, seconds: float) -> None:
    """flaky answers 500 for ``seconds`` of platform time from now, then 200."""
    credentials = json.loads((cwd / "credentials.json").read_text())
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/api/authentication/login", json={
                "clientId": credentials["clientId"],
                "clientSecret": credentials["clientSecret"]}) as resp:
            token = (await resp.json())["accessToken"]
        async with http.put(f"{base}/api/receiver/endpoints/flaky/faults",
                            headers={"Authorization": f"Bearer {token}"},
                            json={"phases": [f"500:{seconds:.3f}s", "ok"]}) as resp:
            assert resp.status == 200, await resp.text()


def _storage_env(storage: StorageSettings) -> dict[str, str]:
    if storage.backend == "sqlite":
        return {"HOOKSIM_STORAGE_PATH": storage.path}
    return {"HOOKSIM_STORAGE_BACKEND": "postgresql", "HOOKSIM_STORAGE_DSN": storage.dsn}


async def _run(tmp_path: Path, storage: StorageSettings, *, multi: bool) -> Run:
    origin = time.time()
    env = {**ENV, **_storage_env(storage), "HOOKSIM_CLOCK_ORIGIN": repr(origin)}
    clock = shared_clock(TIME_SCALE, origin)
    if multi:
        receivers = [await _launch(tmp_path / f"receiver{i}", "receiver", env) for i in range(2)]
        dispatchers = [await _launch(tmp_path / f"dispatcher{i}", "dispatcher",
                                     {**env, "HOOKSIM_DISPATCHER_USER_AGENT": f"{_UA} d{i}"})
                       for i in range(3)]
        procs = [*receivers, *dispatchers]
        first_receiver_dir = tmp_path / "receiver0"
    else:
        single = await _launch(tmp_path / "all", "all", env)
        receivers, dispatchers, procs = [single, single], [], [single]
        first_receiver_dir = tmp_path / "all"
    db = await open_storage(storage, ())
    run = Run(outcome=None, seconds=0.0)  # type: ignore[arg-type]
    try:
        started = time.monotonic()
        t0 = await scenario.write_scenario(db, [base for _, base in receivers], clock.now())
        assert clock.now() < t0 - 60, "writing the events took longer than the lead"
        await _set_flaky_faults(receivers[0][1], first_receiver_dir,
                                t0 + FLAKY_SECONDS - clock.now())
        if multi:
            # Midway through the stream, in platform time.
            await asyncio.sleep((t0 + STREAM_SECONDS / 2 - clock.now()) / TIME_SCALE)
            victim = dispatchers[0][0]
            victim.send_signal(signal.SIGKILL)
            assert await victim.wait() == -signal.SIGKILL
            run.killed_agent = f"{_UA} d0"
        await asyncio.sleep(max(0.0, (t0 + STREAM_SECONDS - clock.now()) / TIME_SCALE))
        for _ in range(int(_DRAIN_SECONDS / 0.25)):
            if not await scenario.pending(db):
                break
            await asyncio.sleep(0.25)
        run.seconds = time.monotonic() - started
        run.outcome = await scenario.read_outcome(db)
        run.pending_at_end = await scenario.pending(db)
    finally:
        await db.close()
        for proc, _ in procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for proc, _ in procs:
            if proc is not (dispatchers[0][0] if multi else None):
                run.exit_codes.append(await asyncio.wait_for(proc.wait(), 30))
    return run


def _postgres(dsn: str) -> StorageSettings:
    return StorageSettings(backend="postgresql", dsn=dsn)


def _check(run: Run, label: str) -> None:
    outcome = run.outcome
    assert run.pending_at_end == 0, f"{label}: deliveries stuck PENDING past every lease"
    assert outcome.transitions == EXPECTED_TRANSITIONS, label
    assert outcome.notifications == {
        name: [kind for kind, *_ in expected if kind in ("PAUSED", "STOPPED")]
        for name, expected in EXPECTED_TRANSITIONS.items()}, label
    for _, _, endpoint, count in SUBSCRIPTIONS:
        statuses = outcome.statuses[endpoint]
        assert sum(statuses.values()) == count, (label, endpoint, statuses)
        assert set(statuses) <= ALLOWED_STATUSES[endpoint], (label, endpoint, statuses)
    assert outcome.statuses["flaky"]["SUCCESS"] > 0, label   # it did recover
    assert outcome.succeeded_not_received == [], label
    assert outcome.attempts_recorded_twice == 0, label
    assert set(run.exit_codes) == {0}, (label, run.exit_codes)


def _resent(run: Run) -> int:
    """Attempts that reached a receiver twice; only the killed dispatcher's may have, once."""
    resent = 0
    for key, agents in run.outcome.sent.items():
        if len(agents) == 1:
            continue
        assert (run.killed_agent is not None and len(agents) == 2
                and agents.count(run.killed_agent) == 1), f"sent twice: {key} by {agents}"
        resent += 1
    return resent


async def test_three_dispatchers_two_receivers_one_killed_match_one_process(
        tmp_path: Path) -> None:
    dsn = postgres_dsn()
    with postgres_schema(dsn) as single_dsn:
        single = await _run(tmp_path / "single", _postgres(single_dsn), multi=False)
    with postgres_schema(dsn) as multi_dsn:
        multi = await _run(tmp_path / "multi", _postgres(multi_dsn), multi=True)
    assert _resent(single) == 0
    resent = _resent(multi)
    _check(single, "single process")
    _check(multi, "3 dispatchers + 2 receivers")
    assert multi.outcome.transitions == single.outcome.transitions
    assert multi.outcome.notifications == single.outcome.notifications
    by_agent: dict[str, int] = {}
    for agents in multi.outcome.sent.values():
        for agent in agents:
            by_agent[agent[-2:]] = by_agent.get(agent[-2:], 0) + 1
    # Every dispatcher did part of the work, the killed one before it died.
    assert set(by_agent) == {"d0", "d1", "d2"}, by_agent
    print(f"\n{EVENTS} events; single process {single.seconds:.1f} s, 3 dispatchers "
          f"{multi.seconds:.1f} s; requests per dispatcher {by_agent}; re-sent after the kill "
          f"{resent}; statuses {multi.outcome.statuses}")
