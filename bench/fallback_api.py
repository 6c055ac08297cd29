"""The fallback APIs at Toast's paths on a platform that made 20 000 orders events.

Set-up (not measured): a database where the dispatcher made 20 000 orders events (about 1 700
per restaurant) over the last two hours, plus stock, menus and partner events, cached. Measured:
``hooksim serve`` on it (core 0); from core 1 a client logs in at Toast's login once, then over
a kept-alive connection times many requests of each kind for one restaurant:

- ``order``: ``GET /orders/v2/orders/{guid}``, the full order with its guest data;
- ``bulk``: ``GET /orders/v2/ordersBulk`` for the last 10 minutes (a page of up to 100);
- ``menus``: ``GET /menus/v2/metadata``; ``stock``: ``GET /stock/v1/inventory``.

``[toast_api] orders_bulk_per_second`` is raised for the run, so the 5-a-second limit does not
answer 429 to the bench itself. The figure is the median per round, the median of the rounds.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from pathlib import Path

from bench.harness import (CACHE, CLIENT_CPU, PYTHON, ROOT, Config, Row, free_port, hooksim_env,
                           latency_rows, pinned, wait_http, workdir)

ORDERS = 20_000
LIMIT_MS = 100.0   # a page of 100 full orders is about 1 MB of JSON
REQUESTS = 50

CLIENT = r"""
import json, sys, urllib.parse
from bench.api_client import connect, report, timed as timed_requests
port, credentials, restaurant, order, start, n = sys.argv[1:7]
port, n = int(port), int(n)
conn = connect(port)
c = json.load(open(credentials))
conn.request("POST", "/authentication/v1/authentication/login", json.dumps(
    {"clientId": c["clientId"], "clientSecret": c["clientSecret"],
     "userAccessType": "TOAST_MACHINE_CLIENT"}), {"Content-Type": "application/json"})
token = json.loads(conn.getresponse().read())["token"]["accessToken"]
headers = {"Authorization": "Bearer " + token, "Toast-Restaurant-External-ID": restaurant}

def timed(path, check):
    def ok(status, body):
        assert status == 200 and check(body), (status, str(body)[:200])
    return timed_requests(conn, "GET", path, headers, n, ok)

window = urllib.parse.urlencode({"startDate": start, "endDate": "2200-01-01T00:00:00.000+0000"})
out = {"order": timed(f"/orders/v2/orders/{order}", lambda b: b["guid"] == order),
       "bulk": timed(f"/orders/v2/ordersBulk?{window}", lambda b: 0 < len(b) <= 100),
       "menus": timed("/menus/v2/metadata", lambda b: "lastUpdated" in b),
       "stock": timed("/stock/v1/inventory", lambda b: isinstance(b, list))}
report(out)
"""

KINDS = {
    "order": f"Toast API: one order by GUID, {ORDERS:,} orders events stored",
    "bulk": f"Toast API: ordersBulk, last 10 min, {ORDERS:,} orders events stored",
    "menus": "Toast API: menus metadata (newest menus event)",
    "stock": "Toast API: stock inventory (newest event per item)",
}


async def _make(db: Path) -> tuple[str, str, str]:
    from dispatcher.backoff import PRESETS
    from dispatcher.clock import FakeClock, iso
    from dispatcher.service import DispatcherService
    from dispatcher.settings import DispatcherSettings
    from storage.backends import open_storage
    from storage.settings import StorageSettings

    store = await open_storage(StorageSettings(path=str(db)))
    clock = FakeClock(time.time() - 7200)
    service = DispatcherService(store, clock, DispatcherSettings(), PRESETS["current"])
    restaurant = service.restaurants[0].guid
    order = ""
    for _ in range(ORDERS // 500):
        for event in await service.send_events(category="orders", count=500):
            if event.restaurant_guid == restaurant:
                order = event.details["order"]["guid"]
        for category in ("stock", "menus"):
            await service.send_events(category=category, count=20)
        # partner_updated only: a removal would lock the bench out of its restaurant (403)
        await service.send_events(category="partner", event_type="partner_updated", count=5)
        clock.advance(7200 / (ORDERS // 500))
    await store.close()
    return restaurant, order, iso(time.time() - 600).replace("Z", "+0000")


def run(config: Config) -> list[Row]:
    CACHE.mkdir(parents=True, exist_ok=True)
    db = CACHE / "fallback-api.db"
    tmp_db = CACHE / "fallback-api.tmp"
    tmp_db.unlink(missing_ok=True)
    restaurant, order, start = asyncio.run(_make(tmp_db))   # its times are "now": made each run
    tmp_db.rename(db)
    medians: dict[str, list[float]] = {kind: [] for kind in KINDS}
    worst: dict[str, list[float]] = {kind: [] for kind in KINDS}
    with workdir("fallback-api") as tmp:
        port = free_port()
        cmd = [str(Path(PYTHON).with_name("hooksim")), "serve", "--port", str(port)]
        env = hooksim_env(tmp, db, HOOKSIM_RECEIVER_ENABLED="false",
                          HOOKSIM_TOAST_API_ORDERS_BULK_PER_SECOND="100000")
        with pinned(cmd, env=env, cwd=tmp):
            wait_http(f"http://127.0.0.1:{port}/healthz")
            for _ in range(config.rounds):
                done = subprocess.run(
                    ["taskset", "-c", CLIENT_CPU, PYTHON, "-c", CLIENT, str(port),
                     str(tmp / "credentials.json"), restaurant, order, start, str(REQUESTS)],
                    capture_output=True, text=True, cwd=ROOT)
                if done.returncode:
                    raise RuntimeError(f"client failed: {done.stderr.strip().splitlines()[-1:]}")
                out = done.stdout
                for kind, result in json.loads(out).items():
                    medians[kind].append(result["median_ms"])
                    worst[kind].append(result["max_ms"])
    return latency_rows(KINDS, medians, worst, LIMIT_MS)
