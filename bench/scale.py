"""Scaling out: delivery throughput with 1, 2 and 4 ``hooksim serve --role dispatcher`` processes
on one PostgreSQL (issue #9).

A throwaway cluster (tests/pgcluster.py's, durability off as there) and a bare aiohttp target
(bench/bare_server.py) answering 200. Per round and process count: a fresh schema, the
dispatchers started and idle, then one subscription and the events written to the outbox, all
due at one platform time a few seconds ahead, so the clock starts with every process awake and
nothing delivered yet; it stops when no delivery is PENDING (every attempt sent and recorded).
Nothing is pinned: the dispatchers, PostgreSQL and the target share the machine's cores, which
is the point (on 2 cores, more processes mostly add contention). Report-only: no target.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from bench.harness import PYTHON, Config, Row, free_port, median, pinned, wait_port, workdir

PROCESSES = (1, 2, 4)
LEAD_SECONDS = 3.0   # events fall due this long after they are written


@contextlib.contextmanager
def _dispatchers(count: int, dsn: str, cwd: Path) -> Iterator[list[subprocess.Popen]]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("HOOKSIM_")},
           "HOOKSIM_STORAGE_BACKEND": "postgresql", "HOOKSIM_STORAGE_DSN": dsn,
           "HOOKSIM_DEMO_ENABLED": "false", "HOOKSIM_LOG_LEVEL": "warning",
           "PYTHONUNBUFFERED": "1"}
    procs = [subprocess.Popen([PYTHON, "-m", "hooksim", "serve", "--role", "dispatcher",
                               "--port", "0"], cwd=cwd, env=env, stdout=subprocess.PIPE,
                              stderr=(cwd / f"dispatcher{i}.log").open("wb"))
             for i in range(count)]
    try:
        for proc in procs:   # the first line is printed once the process is serving
            line = proc.stdout.readline().decode()
            if not line.startswith("hooksim serving on"):
                raise RuntimeError(f"a dispatcher did not start: {line!r} (see {cwd})")
        yield procs
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def _queue(dsn: str, url: str, events: int) -> float:
    """One subscription and ``events`` events due ``LEAD_SECONDS`` from now; that due time."""
    from dispatcher.backoff import PRESETS
    from dispatcher.clock import ScaledClock
    from dispatcher.service import DispatcherService
    from dispatcher.settings import DispatcherSettings
    from storage.backends import open_storage
    from storage.settings import StorageSettings

    class Ahead(ScaledClock):
        def now(self) -> float:
            return super().now() + LEAD_SECONDS

    db = await open_storage(StorageSettings(backend="postgresql", dsn=dsn), ())
    try:
        service = DispatcherService(db, Ahead(), DispatcherSettings(), PRESETS["current"])
        await service.create_subscription(event_category="menus", url=url,
                                          notification_email="bench@example.com")
        due = time.time() + LEAD_SECONDS
        for first in range(0, events, 1000):
            await service.send_events(category="menus", count=min(1000, events - first))
        return due
    finally:
        await db.close()


async def _wait_delivered(dsn: str) -> tuple[dict[str, int], int]:
    """Once nothing is PENDING: the delivery statuses and how many attempts were recorded."""
    import psycopg

    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        while (await (await conn.execute(
                "SELECT 1 FROM delivery WHERE status = 'PENDING' LIMIT 1")).fetchone()):
            await asyncio.sleep(0.02)
        rows = await (await conn.execute(
            "SELECT status, count(*) FROM delivery GROUP BY status")).fetchall()
        attempts = (await (await conn.execute("SELECT count(*) FROM attempt")).fetchone())[0]
    return dict(rows), attempts


def _round(count: int, dsn: str, url: str, events: int, cwd: Path) -> tuple[float, int]:
    """(events per second, attempts beyond one per event: sent again after a failed recording)."""
    from tests.backends import postgres_schema

    with postgres_schema(dsn) as schema_dsn:
        # The schema's tables, made by one process first (no race on a fresh schema).
        with _dispatchers(1, schema_dsn, cwd):
            pass
        with _dispatchers(count, schema_dsn, cwd):
            due = asyncio.run(_queue(schema_dsn, url, events))
            statuses, attempts = asyncio.run(_wait_delivered(schema_dsn))
            finished = time.time()
    if statuses != {"SUCCESS": events}:
        raise RuntimeError(f"unexpected delivery statuses: {statuses}")
    return events / (finished - due), attempts - events


def run(config: Config) -> list[Row]:
    from tests.pgcluster import cluster, find_bindir

    events = 1500 if config.quick else 5000
    figure = f"dispatcher on PostgreSQL: events delivered+recorded/s ({events} events), 1/2/4 processes"
    if find_bindir() is None:
        return [Row(figure, "-", "-", None, "report only", None,
                    note="PostgreSQL is not installed (Debian: apt-get install postgresql)")]
    rates: dict[int, list[float]] = {n: [] for n in PROCESSES}
    extra: dict[int, int] = {n: 0 for n in PROCESSES}
    port = free_port()
    with cluster() as dsn, workdir("scale") as cwd, \
            pinned([PYTHON, "-m", "bench.bare_server", "--port", str(port)], cpu="0,1"):
        wait_port(port)
        url = f"http://127.0.0.1:{port}/hook"
        for round_no in range(config.rounds):
            for count in PROCESSES:
                rate, again = _round(count, dsn, url, events, cwd)
                rates[count].append(rate)
                extra[count] += again
            print(f"  scale round {round_no + 1}: " + ", ".join(
                f"{n} process{'es' if n > 1 else ''} {rates[n][-1]:.0f}/s" for n in PROCESSES),
                flush=True)
    medians = {n: median(rates[n]) for n in PROCESSES}
    text = ", ".join(f"{n}: {medians[n]:.0f}/s" for n in PROCESSES)
    note = (f"median of {config.rounds} rounds on {os.cpu_count()} cores shared by the "
            f"dispatchers, PostgreSQL (fsync off) and the target; speed-up over 1 process: "
            + ", ".join(f"{n} processes x{medians[n] / medians[1]:.2f}" for n in PROCESSES[1:])
            + "; attempts beyond one per event, all rounds: "
            + ", ".join(f"{n} processes {extra[n]}" for n in PROCESSES)
            + ". Report-only: how far it scales depends on cores and on the database")
    return [Row(figure, text, "-", None, "report only", None,
                note=note, rounds={str(n): rates[n] for n in PROCESSES})]
