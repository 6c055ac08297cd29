"""The small toolkit every figure uses: pinned processes, wrk, RSS, medians, the result table.

Servers run on core 0 (``SERVER_CPU``), load generators and clients on core 1 (``CLIENT_CPU``),
through ``taskset``. Every figure is measured several rounds and reported as a median; a ratio is
always taken between two measurements of the same run.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SERVER_CPU = "0"
CLIENT_CPU = "1"
RESULTS = ROOT / "bench" / "results"
CACHE = RESULTS / "cache"   # generated databases, reused between runs (git-ignored)


@dataclass
class Row:
    """One line of the table. ``ratio`` is hooksim/reference (or None without a reference)."""

    figure: str
    hooksim: str
    reference: str
    ratio: float | None
    target: str
    passed: bool | None          # None: not measured (see ``note``)
    note: str = ""
    rounds: dict = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "FAIL", None: "N/A"}[self.passed]


@dataclass
class Config:
    rounds: int = 3
    seconds: int = 6       # one wrk round
    quick: bool = False
    rounds_given: bool = False   # --rounds was given: every figure runs exactly that many

    def rounds_at_least(self, minimum: int) -> int:
        """Rounds for a figure whose single runs are short and swing more: at least
        ``minimum`` by default, exactly what ``--rounds`` or ``--quick`` asked for otherwise."""
        return self.rounds if self.quick or self.rounds_given else max(self.rounds, minimum)


# -- tools ---------------------------------------------------------------------------------

def ensure_tools() -> None:
    """Install what the benchmarks need (Debian packages, py-spy is optional); we run as root."""
    missing = [tool for tool in ("wrk", "webhook", "taskset") if shutil.which(tool) is None]
    if missing:
        packages = {"wrk": "wrk", "webhook": "webhook", "taskset": "util-linux"}
        print(f"installing {', '.join(missing)} (apt-get)...", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", *(packages[t] for t in missing)],
                       check=True, env=env, stdout=subprocess.DEVNULL)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return   # answering, even with an error: it is up
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up in {timeout} s") from None
            time.sleep(0.05)


def wait_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing listens on port {port} after {timeout} s")
        time.sleep(0.05)


@contextlib.contextmanager
def pinned(cmd: Sequence[str], cpu: str = SERVER_CPU, *, env: dict | None = None,
           cwd: str | Path | None = None, log: Path | None = None) -> Iterator[subprocess.Popen]:
    """Run ``cmd`` pinned to ``cpu``; SIGTERM (then SIGKILL) it on exit."""
    out = open(log, "wb") if log else subprocess.DEVNULL
    proc = subprocess.Popen(["taskset", "-c", cpu, *cmd], env={**os.environ, **(env or {})},
                            cwd=cwd, stdout=out, stderr=subprocess.STDOUT if log else out)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if log:
            out.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time ``pid`` has used so far (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> tuple[float, float]:
    """(current RSS, peak RSS) of ``pid`` in MB, from /proc."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


def hooksim_env(workdir: Path, db: Path, **extra: str) -> dict[str, str]:
    """Environment for a ``hooksim`` server in ``workdir``: its own database and credentials."""
    return {"HOOKSIM_STORAGE_PATH": str(db),
            "HOOKSIM_AUTH_CREDENTIALS_FILE": str(workdir / "credentials.json"),
            "HOOKSIM_DEMO_ENABLED": "false", "PYTHONUNBUFFERED": "1", **extra}


@contextlib.contextmanager
def workdir(name: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"hooksim-bench-{name}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# -- wrk -----------------------------------------------------------------------------------

@dataclass
class WrkResult:
    rps: float
    requests: int
    p99_ms: float
    non_2xx: int
    socket_errors: int
    cpu_us: float | None = None   # the server's CPU time per request, when measured


def wrk_server(proc: subprocess.Popen, url: str, script: Path, requests_file: Path, *,
               seconds: int) -> WrkResult:
    """A 1 s warm-up, then one measured wrk round against the server ``proc`` (started by
    :func:`pinned`: taskset execs, so its pid is the server's), with the server's CPU time per
    request: unlike the rate, that hardly moves when other work shares the machine."""
    wrk(url, script, requests_file, seconds=1)
    before = cpu_seconds(proc.pid)
    result = wrk(url, script, requests_file, seconds=seconds)
    result.cpu_us = (cpu_seconds(proc.pid) - before) / max(result.requests, 1) * 1e6
    return result


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS[unit]


def wrk(url: str, script: Path, requests_file: Path, *, seconds: int, connections: int = 50,
        timeout: str = "5s") -> WrkResult:
    """One wrk round from core 1: one thread, ``connections`` keep-alive connections."""
    out = subprocess.run(
        ["taskset", "-c", CLIENT_CPU, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s",
         f"--timeout={timeout}", "--latency", "-s", str(script), url, "--", str(requests_file)],
        check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return WrkResult(rps, requests, p99, int(non_2xx.group(1)) if non_2xx else 0,
                     sum(int(n) for n in errors.groups()) if errors else 0)


# -- results -------------------------------------------------------------------------------

def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def latency_rows(kinds: dict[str, str], medians: dict[str, list[float]],
                 worst: dict[str, list[float]], limit_ms: float) -> list[Row]:
    """One row per kind of request: the median of the rounds' medians against ``limit_ms``,
    the slowest single request of each round in the note."""
    rows = []
    for kind, figure in kinds.items():
        value = median(medians[kind])
        rows.append(Row(figure, f"{value:.1f} ms", "-", None, f"<= {limit_ms:.0f} ms",
                        value <= limit_ms,
                        note=f"slowest single request per round (ms): "
                             f"{', '.join(f'{w:.1f}' for w in worst[kind])}",
                        rounds={"median_ms": medians[kind], "max_ms": worst[kind]}))
    return rows


def print_table(rows: Sequence[Row]) -> str:
    head = ("figure", "hooksim", "reference", "ratio", "target", "result")
    lines = [(r.figure, r.hooksim, r.reference, "" if r.ratio is None else f"{r.ratio:.2f}",
              r.target, r.verdict) for r in rows]
    widths = [max(len(str(line[i])) for line in [head, *lines]) for i in range(len(head))]
    text = "\n".join(" | ".join(str(c).ljust(w) for c, w in zip(line, widths))
                     for line in [head, tuple("-" * w for w in widths), *lines])
    notes = [f"- {r.figure}: {r.note}" for r in rows if r.note]
    return text + ("\n\n" + "\n".join(notes) if notes else "")


def write_json(rows: Sequence[Row], config: Config, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
               "config": asdict(config),
               "rows": [{**asdict(r), "result": r.verdict} for r in rows],
               "all_pass": all(r.passed for r in rows)}
    path.write_text(json.dumps(payload, indent=2) + "\n")
