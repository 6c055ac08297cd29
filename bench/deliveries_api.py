"""Newest 50 deliveries of a subscription holding 1 000 000 deliveries, via the API.

Set-up (not measured): a database with one subscription and 1 000 000 delivered (SUCCESS) events
and deliveries (bench/data.py, executemany), cached. Measured: ``hooksim serve`` on it (core 0);
from core 1 a client logs in once, then times ``GET /api/subscriptions/{guid}/deliveries?limit=50``
over a kept-alive connection, full response read, many times; the figure is the median per round,
the median of the rounds reported.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from bench import data
from bench.harness import (CACHE, CLIENT_CPU, PYTHON, Config, Row, free_port, hooksim_env,
                           median, pinned, wait_http, workdir)

DELIVERIES = 1_000_000
LIMIT_MS = 20.0
REQUESTS = 50

CLIENT = r"""
import http.client, json, statistics, sys, time
port, guid, credentials, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
conn = http.client.HTTPConnection("127.0.0.1", port)
conn.request("POST", "/api/authentication/login", open(credentials).read(),
             {"Content-Type": "application/json"})
token = json.loads(conn.getresponse().read())["accessToken"]
headers = {"Authorization": "Bearer " + token}
times = []
for _ in range(n):
    started = time.perf_counter()
    conn.request("GET", f"/api/subscriptions/{guid}/deliveries?limit=50", headers=headers)
    response = conn.getresponse()
    items = json.loads(response.read())["items"]
    times.append((time.perf_counter() - started) * 1000)
    assert response.status == 200 and len(items) == 50, (response.status, len(items))
print(json.dumps({"median_ms": statistics.median(times), "max_ms": max(times)}))
"""


def run(config: Config) -> list[Row]:
    CACHE.mkdir(parents=True, exist_ok=True)
    db = CACHE / "deliveries-1m.db"
    guid_file = CACHE / "deliveries-1m.guid"
    if not db.exists() or not guid_file.exists():
        _, guid = data.bulk_deliveries(CACHE / "deliveries-1m.tmp", DELIVERIES,
                                       url="http://127.0.0.1:9/unused", status="SUCCESS",
                                       created_at=time.time() - 86_400)
        (CACHE / "deliveries-1m.tmp").rename(db)
        guid_file.write_text(guid)
    guid = guid_file.read_text().strip()
    medians, worst = [], []
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
                    check=True, capture_output=True, text=True).stdout
                result = json.loads(out)
                medians.append(result["median_ms"])
                worst.append(result["max_ms"])
    value = median(medians)
    return [Row(f"newest 50 of {DELIVERIES:,} deliveries via the API", f"{value:.1f} ms",
                "-", None, f"<= {LIMIT_MS:.0f} ms", value <= LIMIT_MS,
                note=f"slowest single request per round (ms): "
                     f"{', '.join(f'{w:.1f}' for w in worst)}",
                rounds={"median_ms": medians, "max_ms": worst})]
