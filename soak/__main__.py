"""`python -m soak [--minutes 30] [--rate 200]`: drive `hooksim serve` (dispatcher and receiver in one
process) at a steady event rate while the receiver endpoint follows a repeating fault schedule;
sample the server's RSS and open file descriptors; at the end check that no event was lost and
print latency per slice of the run. Exit status 1 when an event was lost or resources grew.

Platform time runs 60x (`clock.time_scale = 60`) so the platform's 5- and 10-minute retry waits
take 5 and 10 s; back-off pausing is set out of reach (it would turn faults into deliberate
NOT_SENT, which is the back-off suite's business, not loss) and retries are extended to six
attempts, so every event must end SUCCESS and be held by the receiver.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ENDPOINT = "soak"
BATCH_EVERY = 0.1   # seconds between POST /api/events calls
CYCLE = 60.0        # seconds per fault cycle
# Phases play on platform time (60x): 10m = 10 s, 5m = 5 s real.
FAULTS = {"phases": ["500@0.2:10m", "close@0.05:5m", "hang@0.02:5m", "ok"]}


@dataclass
class Sample:
    at: float
    rss_kib: int
    fds: int


@dataclass
class Run:
    sent: dict[str, float] = field(default_factory=dict)   # event guid -> wall time sent
    samples: list[Sample] = field(default_factory=list)
    send_errors: int = 0


def sample(pid: int, started: float) -> Sample:
    with open(f"/proc/{pid}/status") as fh:
        rss = next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))
    return Sample(time.monotonic() - started, rss, len(os.listdir(f"/proc/{pid}/fd")))


async def start_server(workdir: Path) -> tuple[asyncio.subprocess.Process, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKSIM_")}
    env.update({
        "HOOKSIM_DEMO_ENABLED": "false", "HOOKSIM_LOG_LEVEL": "warning",
        "HOOKSIM_CLOCK_TIME_SCALE": "60",
        "HOOKSIM_BACKOFF_ERRORS_TO_PAUSE": "100000000",
        "HOOKSIM_DISPATCHER_RETRY_DELAYS": "[300.0, 600.0, 600.0, 600.0, 600.0]",
        "HOOKSIM_RECEIVER_HANG_SECONDS": "5.0", "HOOKSIM_RECEIVER_AUTO_ENDPOINTS": "true",
        "HOOKSIM_AUTH_CREDENTIALS_FILE": str(workdir / "credentials.json"),
        "PYTHONUNBUFFERED": "1"})
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hooksim", "serve", "--port", "0", "--db", str(workdir / "soak.db"),
        cwd=workdir, env=env, stdout=asyncio.subprocess.PIPE,
        stderr=(workdir / "server.log").open("ab"))
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
    if not line.startswith("hooksim serving on"):
        raise SystemExit(f"hooksim serve did not start: {line!r}")
    asyncio.get_running_loop().create_task(proc.stdout.read())   # drain the rest
    return proc, line.split()[-1].rstrip("/")


async def login(session: aiohttp.ClientSession, base: str, workdir: Path) -> dict[str, str]:
    creds = json.loads((workdir / "credentials.json").read_text())
    body = {"clientId": creds["clientId"], "clientSecret": creds["clientSecret"]}
    async with session.post(f"{base}/api/authentication/login", json=body) as response:
        response.raise_for_status()
        return {"Authorization": f"Bearer {(await response.json())['accessToken']}"}


async def drive(session: aiohttp.ClientSession, base: str, headers: dict[str, str], run: Run,
                seconds: float, rate: int) -> None:
    per_batch = max(1, round(rate * BATCH_EVERY))
    loop = asyncio.get_running_loop()
    start = loop.time()
    batches = int(seconds / BATCH_EVERY)

    async def one() -> None:
        try:
            async with session.post(f"{base}/api/events", headers=headers,
                                    json={"eventCategory": "menus", "count": per_batch}) as resp:
                if resp.status != 202:
                    run.send_errors += 1
                    return
                now = time.time()
                for guid in (await resp.json())["eventGuids"]:
                    run.sent[guid] = now
        except (aiohttp.ClientError, asyncio.TimeoutError):
            run.send_errors += 1

    pending: set[asyncio.Task[None]] = set()
    for i in range(batches):
        await asyncio.sleep(max(0.0, start + i * BATCH_EVERY - loop.time()))
        task = loop.create_task(one())
        pending.add(task)
        task.add_done_callback(pending.discard)
    await asyncio.gather(*pending)


async def fault_schedule(session: aiohttp.ClientSession, base: str,
                         headers: dict[str, str]) -> None:
    while True:
        await asyncio.sleep(CYCLE / 3)
        async with session.put(f"{base}/api/receiver/endpoints/{ENDPOINT}/faults",
                               headers=headers, json=FAULTS) as response:
            response.raise_for_status()
        await asyncio.sleep(CYCLE * 2 / 3)


async def monitor(pid: int, run: Run, started: float, every: float) -> None:
    while True:
        run.samples.append(sample(pid, started))
        await asyncio.sleep(every)


async def wait_settled(session: aiohttp.ClientSession, base: str, headers: dict[str, str],
                       subscription: str, limit: float) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        async with session.get(f"{base}/api/subscriptions/{subscription}/deliveries",
                               headers=headers, params={"status": "PENDING", "limit": "1"}) as r:
            if not (await r.json())["items"]:
                return
        await asyncio.sleep(1.0)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else float("nan")


def report(run: Run, db: Path, seconds: float, rate: int, slices: int) -> bool:
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        statuses = dict(conn.execute("SELECT status, count(*) FROM delivery GROUP BY status"))
        first = dict(conn.execute(
            "SELECT event_guid, min(received_at) FROM receiver_message "
            "WHERE accepted = 1 AND status BETWEEN 200 AND 299 GROUP BY event_guid"))
        attempts = conn.execute("SELECT count(*) FROM attempt").fetchone()[0]
        faulted = conn.execute(
            "SELECT count(*) FROM receiver_message WHERE fault IS NOT NULL").fetchone()[0]
    missing = [g for g in run.sent if g not in first]
    lat = {g: first[g] - t for g, t in run.sent.items() if g in first}
    start = min(run.sent.values(), default=0.0)
    width = seconds / slices
    print(f"\nsoak: {seconds / 60:.1f} min at {rate} events/s; {len(run.sent)} events sent "
          f"({run.send_errors} send errors), {attempts} attempts, {faulted} faulted answers")
    print(f"deliveries by status: {statuses}")
    print(f"events missing at the receiver: {len(missing)}")
    # Compare from after the first fault cycle: connection pools and caches fill up once.
    warm = [s for s in run.samples if s.at >= CYCLE + 10] or run.samples[-1:]
    first_s, last_s = warm[0], run.samples[-1]
    print(f"server at {run.samples[0].at:.0f} s: RSS {run.samples[0].rss_kib / 1024:.1f} MiB, "
          f"{run.samples[0].fds} fds; figures below from {first_s.at:.0f} s (after warm-up)")
    print(f"server RSS  start {first_s.rss_kib / 1024:.1f} MiB  end {last_s.rss_kib / 1024:.1f} "
          f"MiB  max {max(s.rss_kib for s in run.samples) / 1024:.1f} MiB")
    print(f"server fds  start {first_s.fds}  end {last_s.fds}  "
          f"max {max(s.fds for s in run.samples)}")
    print("latency send -> first 2xx at the receiver, per slice (ms):")
    print("  slice        events   p50     p90     p99     max")
    for i in range(slices):
        vals = [v * 1000 for g, v in lat.items() if start + i * width <= run.sent[g]
                < start + (i + 1) * width]
        if vals:
            print(f"  {i * width / 60:4.1f}-{(i + 1) * width / 60:4.1f} min {len(vals):7d} "
                  f"{statistics.median(vals):7.1f} {percentile(vals, .9):7.1f} "
                  f"{percentile(vals, .99):7.1f} {max(vals):7.1f}")
    # "Flat": allow warm-up growth of caches, not a leak proportional to the run.
    rss_ok = last_s.rss_kib <= first_s.rss_kib * 1.25 + 20 * 1024
    fds_ok = last_s.fds <= first_s.fds + 10
    lost = bool(missing) or statuses.get("SUCCESS", 0) != len(run.sent) or run.send_errors
    print(f"verdict: {'no event lost' if not lost else 'EVENTS LOST'}; RSS "
          f"{'flat' if rss_ok else 'GREW'}; fds {'flat' if fds_ok else 'GREW'}")
    return not lost and rss_ok and fds_ok


async def main(minutes: float, rate: int, slices: int, keep: bool) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="hooksim-soak-"))
    proc, base = await start_server(workdir)
    run = Run()
    started = time.monotonic()
    seconds = minutes * 60
    timeout = aiohttp.ClientTimeout(total=30)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            headers = await login(session, base, workdir)
            async with session.post(f"{base}/api/subscriptions", headers=headers, json={
                    "eventCategory": "menus", "url": f"{base}/hooks/{ENDPOINT}",
                    "notificationEmail": "soak@example.com"}) as response:
                response.raise_for_status()
                subscription = (await response.json())["guid"]
            tasks = [asyncio.create_task(monitor(proc.pid, run, started, 10.0)),
                     asyncio.create_task(fault_schedule(session, base, headers))]
            print(f"soak: {minutes} min at {rate} events/s against {base} (pid {proc.pid}, "
                  f"work dir {workdir})", flush=True)
            await drive(session, base, headers, run, seconds, rate)
            tasks[1].cancel()
            await session.put(f"{base}/api/receiver/endpoints/{ENDPOINT}/faults",
                              headers=headers, json={})
            await wait_settled(session, base, headers, subscription, 120.0)
            run.samples.append(sample(proc.pid, started))
            tasks[0].cancel()
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 60)
    ok = report(run, workdir / "soak.db", seconds, rate, slices)
    if not keep and ok:
        for item in sorted(workdir.iterdir(), reverse=True):
            item.unlink()
        workdir.rmdir()
    return 0 if ok else 1


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=int, default=200, help="events per second")
    parser.add_argument("--slices", type=int, default=6, help="latency table rows")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.minutes, args.rate, args.slices, args.keep)))


cli()
