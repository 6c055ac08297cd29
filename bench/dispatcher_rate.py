"""Dispatcher throughput: events signed, delivered and recorded per second to a bare 200 target.

The target (bench/bare_server.py) runs on core 0; the dispatcher, and in turn the reference loop
(one ClientSession signing and POSTing the same kind of bodies, no storage), run on core 1
(bench/dispatch_worker.py). Rounds alternate hooksim / reference against the same target process.
"""

from __future__ import annotations

import json
import subprocess

from bench.harness import (CLIENT_CPU, PYTHON, Config, Row, free_port, median, pinned,
                           wait_port)


def _worker(mode: str, url: str, count: int) -> float:
    out = subprocess.run(["taskset", "-c", CLIENT_CPU, PYTHON, "-m", "bench.dispatch_worker",
                          "--mode", mode, "--url", url, "--count", str(count)],
                         check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["rate"]


def run(config: Config) -> list[Row]:
    count = 2000 if config.quick else 5000
    port = free_port()
    ours, refs = [], []
    with pinned([PYTHON, "-m", "bench.bare_server", "--port", str(port)]):
        wait_port(port)
        url = f"http://127.0.0.1:{port}/hook"
        _worker("reference", url, 500)   # warm-up
        for round_no in range(config.rounds):
            ours.append(_worker("hooksim", url, count))
            refs.append(_worker("reference", url, count))
            print(f"  dispatcher round {round_no + 1}: hooksim {ours[-1]:.0f}/s, "
                  f"reference {refs[-1]:.0f}/s", flush=True)
    ratio = median([o / r for o, r in zip(ours, refs)])
    return [Row(f"dispatcher: events signed+delivered+recorded/s ({count} events)",
                f"{median(ours):.0f}/s", f"{median(refs):.0f}/s", ratio, ">= 0.50", ratio >= 0.50,
                rounds={"hooksim": ours, "reference": refs})]
