"""Pure aggregation: attempts and back-off transitions in, the summary, JSON and verdict out.

``load`` feeds it what storage recorded; ``predict`` what its simulation produced, so both print
the same report and can be compared field by field. Times in the JSON are platform seconds since
the start of the run.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from dispatcher.backoff import BackoffRules
from dispatcher.clock import iso
from dispatcher.loadtest.scenario import Scenario, clock_text
from storage.deliveries import AttemptRecord


@dataclass(frozen=True)
class AttemptPoint:
    """One attempt as the report needs it; ``at`` is absolute platform time (its start)."""

    at: float
    label: str            # "200", "500", "timeout", "connect_error", "error"
    success: bool
    latency_ms: float
    number: int           # 1 for a first attempt, 2+ for retries


class TransitionLike(Protocol):
    kind: str
    at: float
    errors_in_window: int
    pauses_in_window: int


def from_record(attempt: AttemptRecord) -> AttemptPoint:
    code = attempt.status_code
    return AttemptPoint(attempt.started_at, str(code) if code is not None else attempt.outcome,
                        code is not None and 200 <= code <= 299, attempt.latency_ms, attempt.number)


@dataclass(frozen=True)
class Report:
    data: dict[str, Any]

    @property
    def verdict(self) -> str:
        return self.data["verdict"]

    @property
    def stopped(self) -> bool:
        return self.data["stoppedAt"] is not None


def build_report(scenario: Scenario, rules: BackoffRules, *, start: float, end: float,
                 attempts: Iterable[AttemptRecord | AttemptPoint],
                 transitions: Sequence[TransitionLike], statuses: Mapping[str, int],
                 time_scale: float | None, url: str | None, interrupted: bool = False,
                 latency_is_platform: bool = False) -> Report:
    points = sorted((a if isinstance(a, AttemptPoint) else from_record(a) for a in attempts),
                    key=lambda a: a.at)
    errors = [a for a in points if not a.success]
    pauses = [t for t in transitions if str(t.kind) == "PAUSED"]
    stop = next((t for t in transitions if str(t.kind) == "STOPPED"), None)
    peak = peak_in_window([a.at for a in errors], rules.error_window)
    data: dict[str, Any] = {
        "url": url, "category": scenario.category, "preset": scenario.preset,
        "ratePerSecond": scenario.rate, "duration": scenario.duration, "timeScale": time_scale,
        "startedAt": iso(start), "ranFor": round(end - start, 3), "interrupted": interrupted,
        "events": sum(statuses.values()),
        "attempts": len(points),
        "successes": len(points) - len(errors),
        "errors": len(errors),
        "errorsByKind": dict(sorted(Counter(a.label for a in errors).items())),
        "retries": sum(1 for a in points if a.number > 1),
        "notSent": statuses.get("NOT_SENT", 0),
        "failed": statuses.get("FAILURE", 0),
        "pendingAtEnd": statuses.get("PENDING", 0),
        "pauses": [{"at": _since(t.at, start), "errorsInWindow": t.errors_in_window,
                    "pausesInWindow": t.pauses_in_window} for t in pauses],
        "stoppedAt": None if stop is None else _since(stop.at, start),
        "pausesAtStop": None if stop is None else stop.pauses_in_window,
        "pausedPeriods": paused_periods(transitions, start, end),
        "latencyMs": percentiles([a.latency_ms for a in points]),
        "latencyClock": "platform" if latency_is_platform else "wall",
        "peakErrorsInWindow": peak,
        "rules": {"errorsToPause": rules.errors_to_pause, "errorWindow": rules.error_window,
                  "pauseSeconds": rules.pause_seconds, "pausesToStop": rules.pauses_to_stop,
                  "pauseWindow": rules.pause_window},
        "timeline": timeline(points, start, end),
    }
    data["verdict"] = verdict(data, rules)
    return Report(data)


def verdict(data: Mapping[str, Any], rules: BackoffRules) -> str:
    window = f"{_window_text(rules.error_window)} window (limit {rules.errors_to_pause})"
    if data["stoppedAt"] is not None:
        return (f"STOPPED at {clock_text(data['stoppedAt'])} platform time "
                f"after {data['pausesAtStop']} pauses")
    pauses = data["pauses"]
    if pauses:
        return (f"paused {len(pauses)} time{'s' if len(pauses) > 1 else ''} (first at "
                f"{clock_text(pauses[0]['at'])} platform time), never stopped")
    return f"never paused; peak {data['peakErrorsInWindow']} errors in any {window}"


def summary_rows(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The summary table as (label, value) rows, for the terminal and the README."""
    latency = data["latencyMs"]
    rows = [
        ("platform time run", clock_text(data["ranFor"]) + (" (interrupted)" if data["interrupted"] else "")),
        ("events", str(data["events"])),
        ("attempts", str(data["attempts"])),
        ("successes (2xx)", str(data["successes"])),
        ("errors", str(data["errors"])),
        *((f"  {kind}", str(n)) for kind, n in data["errorsByKind"].items()),
        ("retries", str(data["retries"])),
        ("not sent", str(data["notSent"])),
        ("failed (gave up)", str(data["failed"])),
        ("pending at end", str(data["pendingAtEnd"])),
        ("peak errors in window", f"{data['peakErrorsInWindow']} (limit {data['rules']['errorsToPause']})"),
        ("pauses", str(len(data["pauses"]))),
        *((f"  pause {i}", f"{clock_text(p['at'])}  {p['errorsInWindow']} errors in window")
          for i, p in enumerate(data["pauses"], 1)),
        ("stopped at", "-" if data["stoppedAt"] is None else clock_text(data["stoppedAt"])),
        (f"latency ms ({data['latencyClock']}) p50/p95/p99",
         "/".join("-" if latency[k] is None else f"{latency[k]:.1f}" for k in ("p50", "p95", "p99"))),
    ]
    return rows


def peak_in_window(times: Sequence[float], window: float) -> int:
    """Most of the sorted ``times`` inside any half-open sliding window of length ``window``."""
    best, first = 0, 0
    for last, t in enumerate(times):
        while t - times[first] >= window:
            first += 1
        best = max(best, last - first + 1)
    return best


def percentiles(values: Sequence[float]) -> dict[str, float | None]:
    """Nearest-rank p50/p95/p99 (None without values)."""
    ordered = sorted(values)

    def rank(p: float) -> float | None:
        if not ordered:
            return None
        return round(ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)], 3)

    return {"p50": rank(50), "p95": rank(95), "p99": rank(99)}


def paused_periods(transitions: Sequence[TransitionLike], start: float,
                   end: float) -> list[dict[str, Any]]:
    """``[{"from", "to", "kind"}]`` in seconds since the start; a stop lasts to the end."""
    periods: list[dict[str, Any]] = []
    opened: TransitionLike | None = None
    for t in transitions:
        kind = str(t.kind)
        if opened is not None and kind in ("RESUMED", "STOPPED"):
            periods.append({"from": _since(opened.at, start), "to": _since(t.at, start),
                            "kind": "PAUSED"})
            opened = None
        if kind == "PAUSED":
            opened = t
        elif kind == "STOPPED":
            periods.append({"from": _since(t.at, start), "to": _since(max(end, t.at), start),
                            "kind": "STOPPED"})
    if opened is not None:
        periods.append({"from": _since(opened.at, start), "to": _since(max(end, opened.at), start),
                        "kind": "PAUSED"})
    return periods


def timeline(points: Sequence[AttemptPoint], start: float, end: float) -> list[dict[str, int]]:
    """Attempts and errors per platform minute since the start."""
    minutes = max(1, math.ceil((end - start) / 60))
    rows = [{"minute": m, "attempts": 0, "errors": 0} for m in range(minutes)]
    for a in points:
        row = rows[min(minutes - 1, max(0, int((a.at - start) // 60)))]
        row["attempts"] += 1
        row["errors"] += not a.success
    return rows


def _since(at: float, start: float) -> float:
    return round(at - start, 3)


def _window_text(seconds: float) -> str:
    return f"{seconds / 60:g}-minute" if seconds % 60 == 0 else f"{seconds:g}-second"
