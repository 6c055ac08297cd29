"""Receiver throughput for one signed event sent again and again (wrk's usual fixed body, and
what a retry storm looks like): every arrival is a duplicate of all the ones before it.

Each round runs ``hooksim receive`` (a new database) and the bare aiohttp reference on core 0
under the same wrk load from core 1: 50 connections, one signed 1 KB body. Afterwards every
acknowledged request must be stored, and numbered: the duplicate counts must run 0 .. n-1.
Before issue 18 each insert counted every earlier arrival (522/s, p99 160 - 320 ms).
"""

from __future__ import annotations

from bench import data
from bench.harness import Config, Row, WrkResult, median, workdir
from bench.receiver_rate import ROUNDS, TARGET_P99_MS, TARGET_RATIO, _bare, _hooksim


def run(config: Config) -> list[Row]:
    hooksim_runs: list[WrkResult] = []
    bare_runs: list[WrkResult] = []
    problems = []
    with workdir("receiver-repeated") as tmp:
        one = data.write_requests(tmp / "one.txt", 1, "toast")
        for round_no in range(config.rounds_at_least(ROUNDS)):
            result, stored = _hooksim(tmp, one, config.seconds, round_no)
            hooksim_runs.append(result)
            bare_runs.append(_bare(tmp, one, config.seconds))
            if result.non_2xx or stored.answered < result.requests \
                    or stored.highest_duplicate != stored.answered - 1:
                problems.append(f"round {round_no}: {result.requests} answered, {stored}")
            print(f"  receiver-repeated round {round_no + 1}: " + ", ".join(
                f"{name} {r.rps:.0f}/s p99 {r.p99_ms:.1f} ms {r.cpu_us:.0f} us CPU/req"
                for name, r in (("hooksim", result), ("bare", bare_runs[-1])))
                  + f"; stored {stored.answered}, highest duplicateCount "
                    f"{stored.highest_duplicate}", flush=True)
    rate, p99 = median([r.rps for r in hooksim_runs]), median([r.p99_ms for r in hooksim_runs])
    ratio = median([h.rps / b.rps for h, b in zip(hooksim_runs, bare_runs)])
    cpu = (f"CPU per request (median): hooksim "
           f"{median([r.cpu_us or 0.0 for r in hooksim_runs]):.0f} us, bare "
           f"{median([r.cpu_us or 0.0 for r in bare_runs]):.0f} us; every arrival numbered "
           f"(duplicate counts 0 .. n-1)")
    notes = [f"LOST OR MISNUMBERED: {'; '.join(problems)}"] if problems else []
    return [Row("receiver: one signed 1 KB event repeated, stored/s, 50 conn (vs bare aiohttp)",
                f"{rate:.0f}/s p99 {p99:.1f} ms", f"{median([r.rps for r in bare_runs]):.0f}/s",
                ratio, f">= {TARGET_RATIO:.2f}, p99 <= {TARGET_P99_MS:.0f} ms",
                ratio >= TARGET_RATIO and p99 <= TARGET_P99_MS and not problems,
                note="; ".join([*notes, cpu]),
                rounds={"hooksim": [r.__dict__ for r in hooksim_runs],
                        "bare": [r.__dict__ for r in bare_runs]})]
