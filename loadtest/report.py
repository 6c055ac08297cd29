"""Pure aggregation: attempts and back-off transitions in, the summary, JSON and verdict out.

``load`` feeds it what storage recorded (one record per attempt); ``predict`` an
:class:`AttemptTally` its simulation counted as it went (it makes hundreds of thousands of
attempts, and the report only needs counts). Both print the same report and can be compared field
by field. Times in the JSON are platform seconds since the start of the run. A run of several
subscriptions (``predict --subscriptions``) adds :func:`with_subscriptions`' fields.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from dispatcher.backoff import BackoffRules
from dispatcher.clock import iso
from loadtest.scenario import Scenario, clock_text
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
class AttemptTally:
    """The attempts of a run as the report needs them: counted, not listed."""

    attempts: int
    errors: int
    errors_by_kind: Mapping[str, int]     # label -> errors
    retries: int
    latency_ms: Mapping[float, int]       # latency -> attempts that took it
    per_minute: Sequence[tuple[int, int]]  # (attempts, errors) started in each platform minute
    peak_errors_in_window: int


def tally(attempts: Iterable[AttemptRecord | AttemptPoint], rules: BackoffRules, start: float,
          end: float) -> AttemptTally:
    points = sorted((a if isinstance(a, AttemptPoint) else from_record(a) for a in attempts),
                    key=lambda a: a.at)
    errors = [a for a in points if not a.success]
    started = minute_counts(start, end)
    failed = minute_counts(start, end)
    for a in points:
        minute = min(len(started) - 1, minute_index(a.at, start))   # load may record past the end
        started[minute] += 1
        failed[minute] += not a.success
    minutes = minutes_run(start, end)
    return AttemptTally(
        attempts=len(points), errors=len(errors),
        errors_by_kind=Counter(a.label for a in errors),
        retries=sum(1 for a in points if a.number > 1),
        latency_ms=Counter(a.latency_ms for a in points),
        per_minute=list(zip(fold_minutes(started, minutes), fold_minutes(failed, minutes))),
        peak_errors_in_window=peak_in_window([a.at for a in errors], rules.error_window))


def minutes_run(start: float, end: float) -> int:
    """Rows of the timeline: whole platform minutes, at least one."""
    return max(1, math.ceil((end - start) / 60))


def minute_counts(start: float, end: float) -> list[int]:
    """Zeroed counters indexed by :func:`minute_index` for any time from ``start`` to ``end``."""
    return [0] * (int(max(0.0, end - start) // 60) + 2)


def minute_index(at: float, start: float) -> int:
    return int(max(0.0, at - start) // 60)


def fold_minutes(counts: Sequence[int], minutes: int) -> list[int]:
    """``counts`` cut to ``minutes`` rows; whatever lies beyond counts in the last row."""
    return [*counts[:minutes - 1], sum(counts[minutes - 1:])]


# A run whose clock met a moment later than this (platform seconds) is not reported as exact.
EXACT_WITHIN = 0.1


@dataclass(frozen=True)
class Timing:
    """How a real run kept platform time (``load``; ``predict`` has no wall clock)."""

    compression: float   # platform seconds run per wall second
    late: float          # the most platform seconds any moment was met late

    @property
    def exact(self) -> bool:
        return self.late <= EXACT_WITHIN

    def json(self) -> dict[str, Any]:
        return {"compression": round(self.compression, 1), "lateSeconds": round(self.late, 3),
                "exact": self.exact}


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
                 attempts: Iterable[AttemptRecord | AttemptPoint] | AttemptTally,
                 transitions: Sequence[TransitionLike], statuses: Mapping[str, int],
                 time_scale: float | None, url: str | None, interrupted: bool = False,
                 latency_is_platform: bool = False, timing: Timing | None = None) -> Report:
    counted = attempts if isinstance(attempts, AttemptTally) else tally(attempts, rules, start, end)
    pauses = [t for t in transitions if str(t.kind) == "PAUSED"]
    stop = next((t for t in transitions if str(t.kind) == "STOPPED"), None)
    data: dict[str, Any] = {
        "url": url, "category": scenario.category, "preset": scenario.preset,
        "ratePerSecond": scenario.rate, "duration": scenario.duration, "timeScale": time_scale,
        "timing": None if timing is None else timing.json(),
        "startedAt": iso(start), "ranFor": round(end - start, 3), "interrupted": interrupted,
        "events": sum(statuses.values()),
        "attempts": counted.attempts,
        "successes": counted.attempts - counted.errors,
        "errors": counted.errors,
        "errorsByKind": {kind: n for kind, n in sorted(counted.errors_by_kind.items()) if n},
        "retries": counted.retries,
        "notSent": statuses.get("NOT_SENT", 0),
        "failed": statuses.get("FAILURE", 0),
        "pendingAtEnd": statuses.get("PENDING", 0),
        "pauses": [{"at": since(t.at, start), "errorsInWindow": t.errors_in_window,
                    "pausesInWindow": t.pauses_in_window} for t in pauses],
        "stoppedAt": None if stop is None else since(stop.at, start),
        "pausesAtStop": None if stop is None else stop.pauses_in_window,
        "pausedPeriods": paused_periods(transitions, start, end),
        "latencyMs": percentiles_of_counts(counted.latency_ms),
        "latencyClock": "platform" if latency_is_platform else "wall",
        "peakErrorsInWindow": counted.peak_errors_in_window,
        "rules": {"errorsToPause": rules.errors_to_pause, "errorWindow": rules.error_window,
                  "pauseSeconds": rules.pause_seconds, "pausesToStop": rules.pauses_to_stop,
                  "pauseWindow": rules.pause_window},
        "timeline": [{"minute": m, "attempts": n, "errors": e}
                     for m, (n, e) in enumerate(counted.per_minute)],
    }
    data["verdict"] = verdict(data, rules)
    return Report(data)


def verdict(data: Mapping[str, Any], rules: BackoffRules) -> str:
    timing = data.get("timing")
    if timing is not None and not timing["exact"]:
        return (f"INEXACT: this machine met the platform's moments up to {timing['lateSeconds']:g} s "
                f"late (limit {EXACT_WITHIN:g} s) while attempts were in flight, so the platform "
                f"may have answered differently; rerun on a quieter machine or at a lower rate")
    window = window_text(rules)
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
    return [
        *count_rows(data),
        ("peak errors in window", f"{data['peakErrorsInWindow']} (limit {data['rules']['errorsToPause']})"),
        ("pauses", str(len(data["pauses"]))),
        *((f"  pause {i}", f"{clock_text(p['at'])}  {p['errorsInWindow']} errors in window")
          for i, p in enumerate(data["pauses"], 1)),
        ("stopped at", "-" if data["stoppedAt"] is None else clock_text(data["stoppedAt"])),
        *disorder_rows(data),
        latency_row(data),
    ]


def disorder_rows(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What the disorder on purpose added (``load --duplicates/--reorder-window/--late``)."""
    disorder = data.get("disorder")
    if not disorder:
        return []
    return [("disorder (seed {})".format(disorder["seed"]),
             f"{disorder['duplicates']} duplicates, {disorder['reordered']} reordered, "
             f"{disorder['late']} late")]


def count_rows(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The rows before the back-off ones: how long it ran and what happened to the events."""
    timing = data.get("timing")
    return [
        ("platform time run", clock_text(data["ranFor"]) + (" (interrupted)" if data["interrupted"] else "")),
        *(() if timing is None else (
            ("compression", f"{timing['compression']:g}x wall time"),
            ("exact", "yes" if timing["exact"] else
             f"NO: moments met up to {timing['lateSeconds']:g} s late"))),
        ("events", str(data["events"])),
        ("attempts", str(data["attempts"])),
        ("successes (2xx)", str(data["successes"])),
        ("errors", str(data["errors"])),
        *((f"  {kind}", str(n)) for kind, n in data["errorsByKind"].items()),
        ("retries", str(data["retries"])),
        ("not sent", str(data["notSent"])),
        ("failed (gave up)", str(data["failed"])),
        ("pending at end", str(data["pendingAtEnd"])),
    ]


def latency_row(data: Mapping[str, Any]) -> tuple[str, str]:
    latency = data["latencyMs"]
    return (f"latency ms ({data['latencyClock']}) p50/p95/p99",
            "/".join("-" if latency[k] is None else f"{latency[k]:.1f}" for k in ("p50", "p95", "p99")))


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
    return percentiles_of_counts(Counter(values))


def percentiles_of_counts(counts: Mapping[float, int]) -> dict[str, float | None]:
    """:func:`percentiles` of a multiset given as ``value -> how many times``."""
    ordered = sorted((value, n) for value, n in counts.items() if n > 0)
    total = sum(n for _, n in ordered)

    def rank(p: float) -> float | None:
        if not total:
            return None
        wanted, seen = max(0, math.ceil(p / 100 * total) - 1), 0   # 0-based nearest rank
        for value, n in ordered:
            seen += n
            if seen > wanted:
                return round(value, 3)
        raise AssertionError("unreachable: wanted < total")

    return {"p50": rank(50), "p95": rank(95), "p99": rank(99)}


def paused_periods(transitions: Sequence[TransitionLike], start: float,
                   end: float) -> list[dict[str, Any]]:
    """``[{"from", "to", "kind"}]`` in seconds since the start; a stop lasts to the end."""
    periods: list[dict[str, Any]] = []
    opened: TransitionLike | None = None
    for t in transitions:
        kind = str(t.kind)
        if opened is not None and kind in ("RESUMED", "STOPPED"):
            periods.append({"from": since(opened.at, start), "to": since(t.at, start),
                            "kind": "PAUSED"})
            opened = None
        if kind == "PAUSED":
            opened = t
        elif kind == "STOPPED":
            periods.append({"from": since(t.at, start), "to": since(max(end, t.at), start),
                            "kind": "STOPPED"})
    if opened is not None:
        periods.append({"from": since(opened.at, start), "to": since(max(end, opened.at), start),
                        "kind": "PAUSED"})
    return periods


def since(at: float, start: float) -> float:
    return round(at - start, 3)


def window_text(rules: BackoffRules) -> str:
    """``5-minute window (limit 50)``."""
    seconds = rules.error_window
    length = f"{seconds / 60:g}-minute" if seconds % 60 == 0 else f"{seconds:g}-second"
    return f"{length} window (limit {rules.errors_to_pause})"


@dataclass(frozen=True)
class RuleOutcome:
    """One of the platform's rules judged over a report: a JUnit test case, say."""

    name: str
    passed: bool
    text: str
    # The run could not judge it (a starved machine): not a pass, not the endpoint's failure.
    undecided: bool = False


def rule_outcomes(data: Mapping[str, Any]) -> list[RuleOutcome]:
    """The pause rule, the stop rule and, for a real run, whether it kept platform time."""
    rules = data["rules"]
    window = f"{rules['errorsToPause']} errors in {_span(rules['errorWindow'])} pause"
    stop = f"{rules['pausesToStop']} pauses in {_span(rules['pauseWindow'])} stop"
    pauses, stopped_at = data["pauses"], data["stoppedAt"]
    several = data.get("subscriptions", 1) > 1
    who = f"{data['subscriptionsPaused']} of {data['subscriptions']} subscriptions " if several else ""
    outcomes = [
        RuleOutcome("pause-rule", not pauses,
                    f"{who}paused {len(pauses)} time(s), first at {clock_text(pauses[0]['at'])} "
                    f"platform time ({window})" if pauses else
                    f"never paused; peak {data['peakErrorsInWindow']} errors in a window ({window})"),
        RuleOutcome("stop-rule", stopped_at is None,
                    f"stopped at {clock_text(stopped_at)} platform time after "
                    f"{data['pausesAtStop']} pauses ({stop})" if stopped_at is not None else
                    f"never stopped ({stop})"),
    ]
    timing = data.get("timing")
    if timing is not None:
        outcomes.append(RuleOutcome(
            "exact-timing", timing["exact"],
            f"platform moments met at most {timing['lateSeconds']:g} s late (limit "
            f"{EXACT_WITHIN:g} s) at {timing['compression']:g}x", undecided=not timing["exact"]))
    return outcomes


def _span(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds % 60 == 0 else f"{seconds:g} s"
