"""Real `hooksim serve` / `hooksim receive` processes for the crash and shutdown suites."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from dispatcher.backoff import PRESETS
from dispatcher.clock import ScaledClock
from dispatcher.service import MAX_EVENTS_PER_REQUEST, DispatcherService
from dispatcher.settings import DispatcherSettings
from storage.backends import open_storage
from storage.settings import StorageSettings
from tests.backends import connect, process_storage

HOOKSIM = [sys.executable, "-m", "hooksim"]


def clean_env(cwd: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKSIM_")}
    return {**env, "HOOKSIM_DEMO_ENABLED": "false", "HOOKSIM_LOG_LEVEL": "warning",
            "HOOKSIM_AUTH_CREDENTIALS_FILE": str(cwd / "credentials.json"),
            "PYTHONUNBUFFERED": "1", **extra}


async def start(cwd: Path, *args: str, first_line: str = "hooksim serving on",
                **env: str) -> tuple[asyncio.subprocess.Process, str]:
    """Start ``hooksim ARGS`` in ``cwd``; wait for its first line; return it and its base URL."""
    proc = await asyncio.create_subprocess_exec(
        *HOOKSIM, *args, cwd=cwd, env=clean_env(cwd, **env), stdout=asyncio.subprocess.PIPE,
        stderr=(cwd / "server.log").open("ab"))
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
    assert line.startswith(first_line), (line, (cwd / "server.log").read_text()[-2000:])
    return proc, line.split()[-1].rstrip("/")


#: Where a hooksim process keeps its data: an SQLite file, or storage settings (either backend).
Storage = Path | StorageSettings


def settings_of(where: Storage) -> StorageSettings:
    return where if isinstance(where, StorageSettings) else StorageSettings(path=str(where))


def storage_args(where: Storage) -> tuple[list[str], dict[str, str]]:
    """The command-line arguments and environment that put a hooksim process on ``where``."""
    return process_storage(settings_of(where))


def integrity(path: Path) -> str:
    """SQLite's own check of a database file (PostgreSQL keeps its files itself)."""
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def intact(where: Storage) -> bool:
    """An SQLite file passes its integrity check; a PostgreSQL database has nothing to check
    from outside (its WAL is the server's business), so it is intact if it answers."""
    settings = settings_of(where)
    if settings.backend == "sqlite":
        return integrity(Path(settings.path)) == "ok"
    return query(settings, "SELECT 1") == [(1,)]


def query(where: Storage, sql: str, *args: object) -> list[tuple]:
    """Rows of ``sql`` (``?`` placeholders) from another connection, on either backend."""
    settings = settings_of(where)
    if settings.backend == "sqlite":
        with sqlite3.connect(settings.path, timeout=10) as conn:
            return conn.execute(sql, args).fetchall()
    with connect(settings) as conn:
        return [tuple(row) for row in conn.execute(sql, args).fetchall()]


async def queue_deliveries(aiohttp_server, db_path: Storage, count: int,
                           hook: Callable[[web.Request], Awaitable[web.Response]]) -> set[str]:
    """Serve ``hook`` at a target, subscribe it to menus and queue ``count`` events in the
    outbox of ``db_path`` before any dispatcher runs; the queued event GUIDs."""
    app = web.Application()
    app.router.add_post("/hook", hook)
    target = await aiohttp_server(app)
    db = await open_storage(settings_of(db_path))
    try:
        service = DispatcherService(db, ScaledClock(), DispatcherSettings(), PRESETS["current"])
        await service.create_subscription(event_category="menus",
                                          url=str(target.make_url("/hook")),
                                          notification_email="dev@example.com")
        made: set[str] = set()
        while len(made) < count:   # a request makes MAX_EVENTS_PER_REQUEST at most
            step = min(count - len(made), MAX_EVENTS_PER_REQUEST)
            made |= {e.guid for e in await service.send_events(category="menus", count=step)}
        return made
    finally:
        await db.close()


async def wait_all_succeeded(db_path: Storage, count: int, seconds: float = 30.0) -> dict[str, int]:
    """Poll the delivery statuses until ``count`` are SUCCESS or ``seconds`` pass; the counts."""
    for _ in range(int(seconds / 0.01)):
        counts = dict(query(db_path, "SELECT status, count(*) FROM delivery GROUP BY status"))
        if counts.get("SUCCESS", 0) == count:
            break
        await asyncio.sleep(0.01)
    return counts
