"""The report of a run of several subscriptions (``hooksim predict --subscriptions N``).

The totals are :func:`~loadtest.report.build_report`'s; this adds what only makes sense
per subscription: who was paused or stopped and when, the worst one, and one summary line each.
Subscriptions are numbered from 0 (0 is the one a single-subscription run plays).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dispatcher.backoff import BackoffRules
from loadtest.report import (Report, TransitionLike, count_rows, latency_row,
                             paused_periods, since, window_text)
from loadtest.scenario import clock_text


@dataclass(frozen=True)
class SubscriptionOutcome:
    """What happened to one subscription's events, and its back-off transitions in order."""

    index: int
    seed: int | str
    events: int
    attempts: int
    successes: int
    errors: int
    not_sent: int
    failed: int
    peak_errors_in_window: int
    transitions: Sequence[TransitionLike]

    @property
    def pending_at_end(self) -> int:
        """Made but not finished: in flight, waiting for a slot, or a retry still to come."""
        return self.events - self.successes - self.failed - self.not_sent


def with_subscriptions(report: Report, outcomes: Sequence[SubscriptionOutcome], rules: BackoffRules,
                       start: float, end: float) -> Report:
    """``report`` (the totals) with the back-off fields over all subscriptions and the verdict."""
    rows = [_summary(o, start) for o in outcomes]
    pauses = sorted(({"subscription": o.index, "at": since(t.at, start),
                      "errorsInWindow": t.errors_in_window, "pausesInWindow": t.pauses_in_window}
                     for o in outcomes for t in o.transitions if str(t.kind) == "PAUSED"),
                    key=lambda p: (p["at"], p["subscription"]))
    stopped = sorted((row for row in rows if row["stoppedAt"] is not None),
                     key=lambda row: (row["stoppedAt"], row["subscription"]))
    first_stop = _stop(outcomes[stopped[0]["subscription"]]) if stopped else None
    worst = min(rows, key=_badness)
    data: dict[str, Any] = dict(report.data)
    data.update({
        "subscriptions": len(outcomes),
        "pauses": pauses,
        "stoppedAt": stopped[0]["stoppedAt"] if stopped else None,
        "pausesAtStop": None if first_stop is None else first_stop.pauses_in_window,
        "pausedPeriods": [{"subscription": o.index, **period} for o in outcomes
                          for period in paused_periods(o.transitions, start, end)],
        "peakErrorsInWindow": max(row["peakErrorsInWindow"] for row in rows),
        "subscriptionsPaused": sum(1 for row in rows if row["pauses"] or row["stoppedAt"] is not None),
        "subscriptionsStopped": len(stopped),
        "firstStopped": stopped[0]["subscription"] if stopped else None,
        "worstSubscription": worst["subscription"],
        "perSubscription": rows,
    })
    data["verdict"] = verdict(data, rules)
    return Report(data)


def verdict(data: Mapping[str, Any], rules: BackoffRules) -> str:
    total = data["subscriptions"]
    if data["stoppedAt"] is not None:
        return (f"STOPPED: {data['subscriptionsStopped']} of {total} subscriptions stopped, the "
                f"first at {clock_text(data['stoppedAt'])} platform time after "
                f"{data['pausesAtStop']} pauses")
    if data["pauses"]:
        return (f"{data['subscriptionsPaused']} of {total} subscriptions paused (first at "
                f"{clock_text(data['pauses'][0]['at'])} platform time), none stopped")
    return (f"none of {total} subscriptions paused; peak {data['peakErrorsInWindow']} errors in "
            f"any {window_text(rules)}")


def summary_rows(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The summary table for several subscriptions: totals, then how many paused and stopped."""
    worst = data["perSubscription"][data["worstSubscription"]]
    pauses, stopped_at = data["pauses"], data["stoppedAt"]
    head, *counts = count_rows(data)
    return [
        head,
        ("subscriptions", f"{data['subscriptions']} x {rate_text(data['ratePerSecond'])}"),
        *counts,
        ("peak errors in window", f"{data['peakErrorsInWindow']} (limit {data['rules']['errorsToPause']})"),
        ("subscriptions paused", str(data["subscriptionsPaused"])),
        *([("  pauses in all", str(len(pauses))), ("  first pause", clock_text(pauses[0]["at"]))]
          if pauses else []),
        ("subscriptions stopped", str(data["subscriptionsStopped"])),
        *([("  first stop", f"{clock_text(stopped_at)} (subscription {data['firstStopped']})")]
          if stopped_at is not None else []),
        ("worst subscription", str(worst["subscription"])),
        ("  errors, pauses", f"{worst['errors']}, {worst['pauses']}"),
        ("  stopped at", "-" if worst["stoppedAt"] is None else clock_text(worst["stoppedAt"])),
        latency_row(data),
    ]


def rate_text(per_second: float) -> str:
    """``0.1666`` -> ``10/min``, ``20.0`` -> ``20/s``."""
    return f"{per_second:g}/s" if per_second >= 1 else f"{per_second * 60:g}/min"


def _summary(outcome: SubscriptionOutcome, start: float) -> dict[str, Any]:
    pauses = [t for t in outcome.transitions if str(t.kind) == "PAUSED"]
    stop = _stop(outcome)
    return {
        "subscription": outcome.index, "seed": outcome.seed, "events": outcome.events,
        "attempts": outcome.attempts, "successes": outcome.successes, "errors": outcome.errors,
        "notSent": outcome.not_sent, "failed": outcome.failed,
        "pendingAtEnd": outcome.pending_at_end,
        "peakErrorsInWindow": outcome.peak_errors_in_window,
        "pauses": len(pauses),
        "firstPauseAt": since(pauses[0].at, start) if pauses else None,
        "stoppedAt": None if stop is None else since(stop.at, start),
    }


def _stop(outcome: SubscriptionOutcome) -> TransitionLike | None:
    return next((t for t in outcome.transitions if str(t.kind) == "STOPPED"), None)


def _badness(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """Sort key, worst first: stopped earliest, then most pauses, highest peak, most errors."""
    stopped_at = row["stoppedAt"]
    return (stopped_at is None, stopped_at or 0.0, -row["pauses"], -row["peakErrorsInWindow"],
            -row["errors"], row["subscription"])
