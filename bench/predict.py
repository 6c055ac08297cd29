"""``hooksim predict``: 1 000 subscriptions x 10 events/min x 1 h of platform time, wall time.

Runs ``python -m hooksim predict`` as a user would (start-up and imports included) on core 0,
once per round, and takes the median wall time. A healthy endpoint (``--error-rate 0``) answering
in 100 ms: 600 000 events, 600 000 attempts.
"""

from __future__ import annotations

import subprocess
import time

from bench.harness import PYTHON, SERVER_CPU, Config, Row, median

LIMIT_S = 5.0
FIGURE = "hooksim predict: 1 000 subs x 10 ev/min x 1 h"
ARGS = ["--subscriptions", "1000", "--rate", "10/min", "--duration", "1h", "--error-rate", "0",
        "--latency-ms", "100"]


def _time() -> tuple[float, int, str]:
    started = time.perf_counter()
    out = subprocess.run(["taskset", "-c", SERVER_CPU, PYTHON, "-m", "hooksim", "predict", *ARGS],
                         capture_output=True, text=True, timeout=120)
    return time.perf_counter() - started, out.returncode, out.stderr.strip()


def run(config: Config) -> list[Row]:
    runs = [_time() for _ in range(config.rounds)]
    target = f"<= {LIMIT_S:.0f} s wall"
    failed = next(((code, err) for _, code, err in runs if code != 0), None)
    if failed is not None:   # a healthy endpoint is never stopped: anything but 0 is a failure
        code, err = failed
        return [Row(FIGURE, "error", "-", None, target, False,
                    note=f"hooksim predict {' '.join(ARGS)} exited {code}: {err[-300:]}")]
    walls = [wall for wall, _, _ in runs]
    wall = median(walls)
    print(f"hooksim predict {' '.join(ARGS)}: {wall:.2f} s wall (median of {len(walls)})")
    return [Row(FIGURE, f"{wall:.2f} s", "-", None, target, wall <= LIMIT_S,
                note="wall per round (s): " + ", ".join(f"{w:.2f}" for w in walls),
                rounds={"wall_s": walls, "args": ARGS})]
