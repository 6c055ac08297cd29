"""Receiver throughput: signed 1 KB events verified and durably stored per second, 50 connections.

Each round runs these servers on core 0, one after the other, under the same wrk load from core 1:
``hooksim receive`` (default settings: synchronous=FULL, group commit, uvloop), the bare aiohttp
reference (reads the body, answers 200), and adnanh/webhook with a payload-hmac-sha256 rule.
Two rows come out of the same rounds: hooksim / bare aiohttp and hooksim / webhook. For the
record, the same rounds also measure bare aiohttp on uvloop and the floor server
(bench/floor_server.py), and every server's CPU time per request.
After each hooksim round the database is opened and every acknowledged request must be there,
stored, verified and accepted; otherwise the row fails whatever its rate.
"""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from bench import data
from bench.harness import (PYTHON, Config, Row, WrkResult, free_port, hooksim_env, median,
                           pinned, wait_port, workdir, wrk_server)

REQUESTS = 30_000   # distinct signed bodies (event GUIDs) per file
# Single rounds' ratios swing 0.43 - 0.52 on this shared machine (the neighbours' load moves
# every server's CPU per request by up to a third between rounds): the median of 5 rounds.
ROUNDS = 5
# Issue 18's targets (issue 7 asked 0.60, which no durable receiver on this stack reaches: see
# "The floor" in bench/README.md); the repeated-event row has the same.
TARGET_RATIO = 0.40
TARGET_P99_MS = 25.0


@dataclass(frozen=True)
class Stored:
    """What a hooksim round left in its database."""

    answered: int            # accepted, verified, answered 200
    highest_duplicate: int   # the highest duplicate_count among them (-1: none)


def _hooksim(tmp: Path, requests: Path, seconds: int, round_no: int) -> tuple[WrkResult, Stored]:
    port = free_port()
    db = tmp / f"receiver-{round_no}.db"
    cmd = [str(Path(PYTHON).with_name("hooksim")), "receive", "--port", str(port),
           "--secret", data.SECRET, "--db", str(db)]
    with pinned(cmd, env=hooksim_env(tmp, db), cwd=tmp) as proc:
        wait_port(port)
        result = wrk_server(proc, f"http://127.0.0.1:{port}/hooks/bench", data.LUA, requests,
                            seconds=seconds)
    with sqlite3.connect(db) as conn:
        stored = Stored(*conn.execute(
            "SELECT count(*), coalesce(max(duplicate_count), -1) FROM receiver_message "
            "WHERE accepted = 1 AND verified = 1 AND status = 200").fetchone())
    db.unlink()
    return result, stored


def _bare(tmp: Path, requests: Path, seconds: int, loop: str = "asyncio") -> WrkResult:
    port = free_port()
    with pinned([PYTHON, "-m", "bench.bare_server", "--port", str(port), "--loop", loop]) as proc:
        wait_port(port)
        return wrk_server(proc, f"http://127.0.0.1:{port}/hooks/bench", data.LUA, requests,
                          seconds=seconds)


def _floor(tmp: Path, requests: Path, seconds: int, round_no: int) -> WrkResult:
    port = free_port()
    db = tmp / f"floor-{round_no}.db"
    with pinned([PYTHON, "-m", "bench.floor_server", "--port", str(port), "--db", str(db),
                 "--secret", data.SECRET, "--loop", "uvloop"]) as proc:
        wait_port(port)
        result = wrk_server(proc, f"http://127.0.0.1:{port}/hooks/bench", data.LUA, requests,
                            seconds=seconds)
    db.unlink()
    return result


def _webhook(tmp: Path, requests: Path, seconds: int) -> WrkResult:
    port = free_port()
    hooks = data.webhook_hooks(tmp / "hooks.json")
    with pinned([shutil.which("webhook") or "webhook", "-hooks", str(hooks), "-ip", "127.0.0.1",
                 "-port", str(port)], cwd=tmp) as proc:
        wait_port(port)
        return wrk_server(proc, f"http://127.0.0.1:{port}/hooks/bench", data.LUA, requests,
                          seconds=seconds)


def run(config: Config) -> list[Row]:
    hooksim_runs: list[WrkResult] = []
    bare_runs: list[WrkResult] = []
    bare_uvloop_runs: list[WrkResult] = []
    floor_runs: list[WrkResult] = []
    webhook_runs: list[WrkResult] = []
    lost = []
    with workdir("receiver") as tmp:
        toast = data.write_requests(tmp / "toast.txt", REQUESTS, "toast")
        hexed = data.write_requests(tmp / "hex.txt", REQUESTS, "hex")
        for round_no in range(config.rounds_at_least(ROUNDS)):
            result, stored = _hooksim(tmp, toast, config.seconds, round_no)
            hooksim_runs.append(result)
            # wrk's warm-up second also stored messages: every 2xx must be there.
            if result.non_2xx or stored.answered < result.requests:
                lost.append(f"round {round_no}: {result.requests} answered, "
                            f"{stored.answered} stored, {result.non_2xx} non-2xx")
            bare_runs.append(_bare(tmp, toast, config.seconds))
            bare_uvloop_runs.append(_bare(tmp, toast, config.seconds, loop="uvloop"))
            floor_runs.append(_floor(tmp, toast, config.seconds, round_no))
            webhook_runs.append(_webhook(tmp, hexed, config.seconds))
            print(f"  receiver round {round_no + 1}: " + ", ".join(
                f"{name} {r.rps:.0f}/s p99 {r.p99_ms:.1f} ms {r.cpu_us:.0f} us CPU/req"
                for name, r in (("hooksim", result), ("bare", bare_runs[-1]),
                                ("bare-uvloop", bare_uvloop_runs[-1]),
                                ("floor", floor_runs[-1]),
                                ("webhook", webhook_runs[-1])))
                  + f" (webhook non-2xx {webhook_runs[-1].non_2xx})", flush=True)

    def ratio_to(reference: list[WrkResult]) -> float:
        return median([h.rps / r.rps for h, r in zip(hooksim_runs, reference)])

    def cpu(runs: list[WrkResult]) -> float:
        return median([r.cpu_us or 0.0 for r in runs])

    rate, p99 = median([r.rps for r in hooksim_runs]), median([r.p99_ms for r in hooksim_runs])
    bare, hook = median([r.rps for r in bare_runs]), median([r.rps for r in webhook_runs])
    ratio, ratio_webhook = ratio_to(bare_runs), ratio_to(webhook_runs)
    webhook_bad = sum(r.non_2xx for r in webhook_runs)
    rounds = {"hooksim": [r.__dict__ for r in hooksim_runs],
              "bare": [r.__dict__ for r in bare_runs],
              "bare_uvloop": [r.__dict__ for r in bare_uvloop_runs],
              "floor": [r.__dict__ for r in floor_runs],
              "webhook": [r.__dict__ for r in webhook_runs]}
    # CPU per request barely moves with the machine's other work, unlike the rates: it says
    # where the ratio comes from. hooksim runs uvloop (server.event_loop = "auto"); the
    # reference is the bare aiohttp, on asyncio's loop; its uvloop twin is shown too.
    floor_of_bare = median([f.rps / b.rps for f, b in zip(floor_runs, bare_runs)])
    cpu_note = (f"CPU per request (median): hooksim {cpu(hooksim_runs):.0f} us, bare "
                f"{cpu(bare_runs):.0f} us, bare on uvloop {cpu(bare_uvloop_runs):.0f} us, "
                f"floor {cpu(floor_runs):.0f} us, webhook {cpu(webhook_runs):.0f} us. "
                f"hooksim / bare-on-uvloop rate {ratio_to(bare_uvloop_runs):.2f}. The floor "
                f"(bench/floor_server.py: verify + group-commit insert, nothing else) reaches "
                f"{median([f.rps for f in floor_runs]):.0f}/s = {floor_of_bare:.2f} of bare; "
                f"hooksim = {ratio_to(floor_runs):.2f} of the floor")
    notes = [f"LOST ACKNOWLEDGED MESSAGES: {'; '.join(lost)}"] if lost else []
    return [
        Row("receiver: signed 1 KB events stored/s, 50 conn (vs bare aiohttp)",
            f"{rate:.0f}/s p99 {p99:.1f} ms", f"{bare:.0f}/s", ratio,
            f">= {TARGET_RATIO:.2f}, p99 <= {TARGET_P99_MS:.0f} ms",
            ratio >= TARGET_RATIO and p99 <= TARGET_P99_MS and not lost, note="; ".join([*notes, cpu_note]),
            rounds=rounds),
        Row("receiver vs adnanh/webhook (payload-hmac-sha256)", f"{rate:.0f}/s", f"{hook:.0f}/s",
            ratio_webhook, ">= 3.00", ratio_webhook >= 3.0 and not lost and not webhook_bad,
            note=(f"webhook answered {webhook_bad} non-2xx: its HMAC rule did not match"
                  if webhook_bad else "")),
    ]
