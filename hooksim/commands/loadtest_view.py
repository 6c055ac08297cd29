"""Terminal output of `hooksim load/check/predict` with rich: live progress, summary, check lines."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from loadtest import per_subscription
from loadtest.report import summary_rows
from loadtest.run import Live


class LiveView:
    """A progress bar over platform time with live counters; silent when stderr is no terminal."""

    def __init__(self, duration: float) -> None:
        self._console = Console(stderr=True)
        self._duration = duration
        self._progress: Progress | None = None
        self._task: Any = None

    def __enter__(self) -> LiveView:
        if self._console.is_terminal:
            self._progress = Progress(
                TextColumn("[bold]{task.fields[state]:<7}"), BarColumn(),
                TextColumn("{task.fields[counters]}"), TimeRemainingColumn(),
                console=self._console, transient=True)
            self._progress.start()
            self._task = self._progress.add_task("load", total=self._duration, state="ACTIVE",
                                                 counters="")
        return self

    def update(self, live: Live) -> None:
        if self._progress is None:
            return
        counters = (f"events {live.events}  sent {live.sent}  2xx {live.successes}  "
                    f"errors {live.errors}  pending {live.pending}")
        self._progress.update(self._task, completed=live.elapsed, state=live.state,
                              counters=counters)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()


def print_summary(data: Mapping[str, Any]) -> None:
    table = Table(title="hooksim load" if data.get("url") else "hooksim predict",
                  show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    several = data.get("subscriptions", 1) > 1
    for label, value in (per_subscription.summary_rows if several else summary_rows)(data):
        table.add_row(label, value)
    console = Console(file=sys.stdout)
    console.print(table)
    console.print(data["verdict"], markup=False, highlight=False, soft_wrap=True)   # one line


def print_check(result: Any) -> None:
    mark = "SKIP" if result.skipped else "PASS" if result.passed else "FAIL"
    print(f"{mark}  {result.name:<17} {result.evidence}", flush=True)
