"""The event log's API on a subscription holding 1 000 000 deliveries: costs that must not grow.

Set-up (not measured): a database with one subscription and 1 000 000 delivered (SUCCESS) events,
deliveries and attempts, made a day ago (bench/data.py, executemany), cached. Measured:
``hooksim serve`` on it (core 0); from core 1 a client logs in once, then over a kept-alive
connection, full response read, times many requests of each kind:

- ``newest``: ``GET /api/subscriptions/{guid}/deliveries?limit=50``, the first page;
- ``status``: the same filtered to Not sent, which none of the 1 M is (an index of its own,
  not a walk of every delivery);
- ``chart``: ``GET /api/subscriptions/{guid}/backoff/errors?minutes=60``, the back-off chart,
  whose window holds none of the 1 M attempts (it reads the window, not the history);
- ``delete``: ``DELETE`` of a second subscription with 10 events (it looks at its own events,
  not the 1 M); the subscription and its events are made before each timed request.

The figure is the median per round, the median of the rounds reported.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from bench import data
from bench.harness import (CACHE, CLIENT_CPU, PYTHON, ROOT, Config, Row, free_port, hooksim_env,
                           latency_rows, pinned, wait_http, workdir)

DELIVERIES = 1_000_000
LIMIT_MS = 20.0
REQUESTS = 50

CLIENT = r"""
import json, sys
from bench.api_client import call as request, connect, report, timed as timed_requests
port, guid, credentials, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
conn = connect(port)
conn.request("POST", "/api/authentication/login", open(credentials).read(),
             {"Content-Type": "application/json"})
token = json.loads(conn.getresponse().read())["accessToken"]
headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}

def call(method, path, body=None):
    return request(conn, method, path, headers, body)

def timed(method, path, check):
    return timed_requests(conn, method, path, headers, n, check)

def fifty(status, body):
    assert status == 200 and len(body["items"]) == 50, (status, len(body["items"]))

def none(status, body):
    assert status == 200 and body["items"] == [], (status, body)

def quiet(status, body):
    assert status == 200 and sum(m["errors"] for m in body["minutes"]) == 0, (status, body)

base = f"/api/subscriptions/{guid}"
out = {"newest": timed("GET", base + "/deliveries?limit=50", fifty),
       "status": timed("GET", base + "/deliveries?limit=50&status=NOT_SENT", none),
       "chart": timed("GET", base + "/backoff/errors?minutes=60", quiet),
       "delete": []}
for _ in range(max(n // 5, 3)):
    _, status, data = call("POST", "/api/subscriptions", {
        "eventCategory": "stock", "url": "http://127.0.0.1:9/closed",
        "notificationEmail": "bench@example.com"})
    assert status == 201, (status, data)
    other = json.loads(data)["guid"]
    _, status, data = call("POST", "/api/events", {"eventCategory": "stock", "count": 10})
    assert status in (200, 201, 202), (status, data)
    ms, status, data = call("DELETE", f"/api/subscriptions/{other}")
    assert status in (200, 204), (status, data)
    out["delete"].append(ms)
report(out)
"""

# What each kind of request is, as a row's figure.
KINDS = {
    "newest": f"newest 50 of {DELIVERIES:,} deliveries via the API",
    "status": f"event log filtered to Not sent, {DELIVERIES:,} others stored",
    "chart": f"back-off chart (60 min), {DELIVERIES:,} older attempts stored",
    "delete": f"delete a 10-event subscription, {DELIVERIES:,} other deliveries",
}


def run(config: Config) -> list[Row]:
    CACHE.mkdir(parents=True, exist_ok=True)
    db = CACHE / "deliveries-1m-attempts.db"   # renamed when the set-up changes
    guid_file = CACHE / "deliveries-1m-attempts.guid"
    if not db.exists() or not guid_file.exists():
        _, guid = data.bulk_deliveries(CACHE / "deliveries-1m.tmp", DELIVERIES,
                                       url="http://127.0.0.1:9/unused", status="SUCCESS",
                                       created_at=time.time() - 86_400, attempts=True)
        (CACHE / "deliveries-1m.tmp").rename(db)
        guid_file.write_text(guid)
    guid = guid_file.read_text().strip()
    medians: dict[str, list[float]] = {kind: [] for kind in KINDS}
    worst: dict[str, list[float]] = {kind: [] for kind in KINDS}
    with workdir("deliveries-api") as tmp:
        port = free_port()
        cmd = [str(Path(PYTHON).with_name("hooksim")), "serve", "--port", str(port)]
        env = hooksim_env(tmp, db, HOOKSIM_RECEIVER_ENABLED="false")
        with pinned(cmd, env=env, cwd=tmp):
            wait_http(f"http://127.0.0.1:{port}/healthz")
            for _ in range(config.rounds):
                out = subprocess.run(
                    ["taskset", "-c", CLIENT_CPU, PYTHON, "-c", CLIENT, str(port), guid,
                     str(tmp / "credentials.json"), str(REQUESTS)],
                    check=True, capture_output=True, text=True, cwd=ROOT).stdout
                for kind, result in json.loads(out).items():
                    medians[kind].append(result["median_ms"])
                    worst[kind].append(result["max_ms"])
    return latency_rows(KINDS, medians, worst, LIMIT_MS)
