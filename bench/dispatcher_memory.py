"""Dispatcher memory with 100 000 pending deliveries.

Set-up (not measured): a database with one subscription and 100 000 events, each with one PENDING
delivery due now (bench/data.py, executemany). Measured: ``hooksim serve`` (receiver off, demo
off) started on it (core 0) delivers to a bare 200 target with a 20 ms answer delay (core 1), so
the backlog stays large; its peak RSS (VmHWM) is read from /proc after each ``seconds`` of work.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from bench import data
from bench.harness import (CLIENT_CPU, PYTHON, Config, Row, free_port, hooksim_env, pinned,
                           rss_mb, wait_port, workdir)

PENDING = 100_000
LIMIT_MB = 300


def run(config: Config) -> list[Row]:
    with workdir("dispatcher-memory") as tmp:
        target = free_port()
        db, _ = data.bulk_deliveries(tmp / "dispatcher.db", PENDING,
                                     url=f"http://127.0.0.1:{target}/hook", status="PENDING",
                                     created_at=time.time() - 60)
        port = free_port()
        peaks, currents = [], []
        cmd = [str(Path(PYTHON).with_name("hooksim")), "serve", "--port", str(port)]
        with pinned([PYTHON, "-m", "bench.bare_server", "--port", str(target), "--delay-ms", "20"],
                    CLIENT_CPU):
            wait_port(target)
            with pinned(cmd, env=hooksim_env(tmp, db, HOOKSIM_RECEIVER_ENABLED="false"),
                        cwd=tmp) as proc:
                wait_port(port)
                for _ in range(config.rounds):
                    time.sleep(config.seconds)
                    current, peak = rss_mb(proc.pid)
                    currents.append(current)
                    peaks.append(peak)
        with sqlite3.connect(db) as conn:
            pending = conn.execute(
                "SELECT count(*) FROM delivery WHERE status = 'PENDING'").fetchone()[0]
    peak = max(peaks)
    return [Row(f"dispatcher RSS with {PENDING:,} pending deliveries", f"{peak:.0f} MB peak",
                "-", None, f"<= {LIMIT_MB} MB", peak <= LIMIT_MB,
                note=(f"{PENDING - pending:,} delivered during the measurement, {pending:,} "
                      "still pending at the end"),
                rounds={"peak_mb": peaks, "current_mb": currents})]
