"""Receiver memory with 1 000 000 messages stored.

Set-up (not measured): a database already holding 1 000 000 stored 1 KB messages, bulk-loaded by
bench/data.py and cached. Measured: ``hooksim receive`` started on it (core 0) takes a wrk round of
real signed traffic (core 1), then its RSS, current and peak (VmHWM), is read from /proc.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bench import data
from bench.harness import (CACHE, PYTHON, Config, Row, free_port, hooksim_env, pinned,
                           rss_mb, wait_port, workdir, wrk)

MESSAGES = 1_000_000
LIMIT_MB = 150


def run(config: Config) -> list[Row]:
    CACHE.mkdir(parents=True, exist_ok=True)
    db = data.bulk_messages(CACHE / "messages-1m.db", MESSAGES)
    peaks, currents, stored = [], [], 0
    with workdir("receiver-memory") as tmp:
        requests = data.write_requests(tmp / "toast.txt", 20_000, "toast")
        port = free_port()
        cmd = [str(Path(PYTHON).with_name("hooksim")), "receive", "--port", str(port),
               "--secret", data.SECRET, "--db", str(db)]
        with pinned(cmd, env=hooksim_env(tmp, db), cwd=tmp) as proc:
            wait_port(port)
            for _ in range(config.rounds):
                wrk(f"http://127.0.0.1:{port}/hooks/bench", data.LUA, requests,
                    seconds=config.seconds)
                current, peak = rss_mb(proc.pid)
                currents.append(current)
                peaks.append(peak)
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT count(*) FROM receiver_message").fetchone()[0]
    peak = max(peaks)
    return [Row(f"receiver RSS with {stored:,} messages stored", f"{peak:.0f} MB peak",
                "-", None, f"<= {LIMIT_MB} MB", peak <= LIMIT_MB,
                note=f"current RSS after each round (MB): {', '.join(f'{c:.0f}' for c in currents)}",
                rounds={"peak_mb": peaks, "current_mb": currents, "stored": stored})]
