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


def _worker(mode: str, url: str, count: int, *loop: str) -> tuple[float, float]:
    """(events per second, CPU microseconds per event) of one measured run."""
    out = subprocess.run(["taskset", "-c", CLIENT_CPU, PYTHON, "-m", "bench.dispatch_worker",
                          "--mode", mode, "--url", url, "--count", str(count), *loop],
                         check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["rate"], result["cpu_us"]


# A run sends 5 000 events in about a second, and single rounds' ratios swing 0.47 - 0.60 on
# this shared machine (the reference's CPU per event moves 80 - 125 us between runs): the median
# of 5 rounds (~15 s) rather than 3.
ROUNDS = 5


def run(config: Config) -> list[Row]:
    count = 2000 if config.quick else 5000
    rounds = config.rounds_at_least(ROUNDS)
    port = free_port()
    ours, refs, our_cpu, ref_cpu, uv_refs, uv_cpu = [], [], [], [], [], []
    with pinned([PYTHON, "-m", "bench.bare_server", "--port", str(port)]):
        wait_port(port)
        url = f"http://127.0.0.1:{port}/hook"
        _worker("reference", url, 500)   # warm-up
        for round_no in range(rounds):
            for rates, cpus, mode, *loop in ((ours, our_cpu, "hooksim"),
                                             (refs, ref_cpu, "reference"),
                                             (uv_refs, uv_cpu, "reference", "--loop", "uvloop")):
                rate, cpu = _worker(mode, url, count, *loop)
                rates.append(rate)
                cpus.append(cpu)
            print(f"  dispatcher round {round_no + 1}: hooksim {ours[-1]:.0f}/s "
                  f"{our_cpu[-1]:.0f} us CPU/event, reference {refs[-1]:.0f}/s "
                  f"{ref_cpu[-1]:.0f} us CPU/event, reference on uvloop {uv_refs[-1]:.0f}/s "
                  f"{uv_cpu[-1]:.0f} us CPU/event", flush=True)
    ratio = median([o / r for o, r in zip(ours, refs)])
    uv_ratio = median([o / r for o, r in zip(ours, uv_refs)])
    cpu_note = (f"median of {rounds} rounds; hooksim runs uvloop (serve's default), the "
                f"reference asyncio's loop. CPU per "
                f"event (median): hooksim {median(our_cpu):.0f} us, reference "
                f"{median(ref_cpu):.0f} us (ratio {median(ref_cpu) / median(our_cpu):.2f}), "
                f"reference on uvloop {median(uv_cpu):.0f} us (ratio "
                f"{median(uv_cpu) / median(our_cpu):.2f}); hooksim / reference-on-uvloop rate "
                f"{uv_ratio:.2f}")
    return [Row(f"dispatcher: events signed+delivered+recorded/s ({count} events)",
                f"{median(ours):.0f}/s", f"{median(refs):.0f}/s", ratio, ">= 0.50", ratio >= 0.50,
                note=cpu_note, rounds={"hooksim": ours, "reference": refs,
                                       "reference_uvloop": uv_refs, "hooksim_cpu_us": our_cpu,
                                       "reference_cpu_us": ref_cpu,
                                       "reference_uvloop_cpu_us": uv_cpu})]
