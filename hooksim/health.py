"""``GET /healthz`` (liveness: the process answers) and ``GET /readyz`` (readiness: it can do its
work now). A load balancer or an orchestrator restarts a process that fails the first and sends
no traffic to one that fails the second.

Readiness checks, each named in the answer:

- ``database``: a write transaction commits (a tiny no-op update), within :data:`CHECK_SECONDS`;
  a database that is gone, locked by another writer or read-only fails it, as it would fail the
  receiver's and the API's writes;
- ``migrations``: every table this process uses is at the schema version it expects;
- ``engine`` (processes that deliver): the delivery loop is running and has not been busy with
  one pass for more than :data:`STUCK_SECONDS` (while idle it is parked, which is fine).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web

from dispatcher.app import ENGINE
from dispatcher.settings import DispatcherSettings
from storage import ALL_SCHEMAS, Schema, StorageError
from storage.observe import stale_schemas
from storage.web import DATABASE

CHECK_SECONDS = 3.0
# One pass of the delivery loop is a claim (a transaction) and starting sends: far below this
# even on a busy machine, unless something hangs.
STUCK_SECONDS = 60.0


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def engine_problem(running: bool, busy_since: float | None, now: float) -> str | None:
    """Why the delivery loop is not healthy, or None (pure: ``now`` and ``busy_since`` are
    monotonic seconds)."""
    if not running:
        return "the delivery loop is not running"
    if busy_since is not None and now - busy_since > STUCK_SECONDS:
        return f"one pass of the delivery loop has been running for {now - busy_since:.0f} s"
    return None


async def _database(app: web.Application) -> str | None:
    async with app[DATABASE].write() as conn:
        await conn.execute("UPDATE schema_version SET version = version WHERE component = ''")
    return None


def setup_health(app: web.Application, dispatcher: DispatcherSettings,
                 schemas: Iterable[Schema] | None = None) -> None:
    """Serve both routes; ``schemas``: the components' tables this app uses (default: all).
    Call after the components' ``setup_x``."""
    expected = tuple(ALL_SCHEMAS if schemas is None else schemas)

    async def migrations(app: web.Application) -> str | None:
        stale = await stale_schemas(app[DATABASE], expected)
        return "; ".join(stale) or None

    async def engine(app: web.Application) -> str | None:
        if ENGINE not in app:
            return None
        loop = app[ENGINE]
        if not dispatcher.enabled and not loop.running:
            return None   # delivery is switched off on purpose
        return engine_problem(loop.running, loop.busy_since, time.monotonic())

    async def readyz(request: web.Request) -> web.Response:
        results = {"database": await _run(_database, request.app)}
        results["migrations"] = (await _run(migrations, request.app) if results["database"]["ok"]
                                 else {"ok": None, "detail": "not checked: no database"})
        if ENGINE in request.app:
            results["engine"] = await _run(engine, request.app)
        failed = [name for name, result in results.items() if result["ok"] is False]
        return web.json_response(
            {"status": "not_ready" if failed else "ready", "failed": failed, "checks": results},
            status=503 if failed else 200)

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)


async def _run(check: Callable[[web.Application], Awaitable[str | None]],
               app: web.Application) -> dict[str, Any]:
    try:
        async with asyncio.timeout(CHECK_SECONDS):
            problem = await check(app)
    except StorageError as exc:
        problem = str(exc)
    except TimeoutError:
        problem = f"no answer within {CHECK_SECONDS:g} s"
    return {"ok": True} if problem is None else {"ok": False, "detail": problem}
