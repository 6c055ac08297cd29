"""Fault injection, pure: a fault plan and the time → what to do with one request.

No I/O and no clock of its own: callers pass ``now`` (the receiver's monotonic clock) and a
``random.Random``, so schedules are tested on a fake clock and failure rates with a seeded RNG.

A plan has base settings (status, failure rate, delay, hang, close) and optional phases. Phase
syntax is ``ACTION[@RATE][:DURATION]``: ACTION is ``ok``, an HTTP status (``500``), ``hang`` or
``close``; RATE (0-1, default 1) is the share of requests the phase hits; DURATION is ``500ms``,
``30s``, ``2m``, ``1h`` or bare seconds, and the last phase may omit it to last for ever. Phases
play from the moment the plan is set; once they are over the base settings apply again.
"""

from __future__ import annotations

import functools
import random
import re
from dataclasses import dataclass
from typing import Literal

from receiver.settings import FaultSettings

Action = Literal["ok", "status", "hang", "close"]

_PHASE = re.compile(r"^(?P<action>ok|hang|close|\d{3})(?:@(?P<rate>[0-9.]+))?(?::(?P<dur>.+))?$")
_DURATION = re.compile(r"^(?P<n>\d+(?:\.\d+)?)(?P<unit>ms|s|m|h)?$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
# A failure rate with no fault named answers this.
DEFAULT_FAULT_STATUS = 500


@dataclass(frozen=True)
class Phase:
    action: Action
    status: int = 0  # for action "status"
    rate: float = 1.0
    duration: float | None = None  # seconds; None = until the end of time

    def __str__(self) -> str:
        text = str(self.status) if self.action == "status" else self.action
        if self.rate < 1.0:
            text += f"@{self.rate:g}"
        if self.duration is not None:
            text += f":{self.duration:g}s"
        return text


@dataclass(frozen=True)
class Decision:
    """What to do with one request. ``status`` is the injected status for action "status"."""

    action: Action
    status: int = 0
    delay: float = 0.0  # seconds added before answering
    phase: int | None = None  # index of the phase that decided, if any

    @property
    def injected(self) -> bool:
        return self.action != "ok" or self.delay > 0

    def describe(self) -> str | None:
        """Short text stored with the message, e.g. ``status 500``, ``hang``; None if no fault."""
        if self.action == "ok" and self.delay <= 0:   # nearly every request: nothing to say
            return None
        parts = []
        if self.action == "status":
            parts.append(f"status {self.status}")
        elif self.action != "ok":
            parts.append(self.action)
        if self.delay > 0:
            parts.append(f"delay {round(self.delay * 1000)}ms")
        if parts and self.phase is not None:
            parts.append(f"phase {self.phase + 1}")
        return ", ".join(parts) or None


# The decision for nearly every request: one shared record, not one built per request.
NO_FAULT = Decision("ok")


@dataclass(frozen=True)
class FaultPlan:
    settings: FaultSettings
    phases: tuple[Phase, ...]
    started_at: float

    @functools.cached_property
    def quiet(self) -> bool:
        """Nothing to play: no phases, no base fault, no delay (decide() answers NO_FAULT)."""
        return not self.phases and _base_action(self.settings) == "ok" \
            and self.settings.delay_ms == 0

    @classmethod
    def create(cls, settings: FaultSettings, now: float) -> FaultPlan:
        """Validate ``settings`` (ValueError naming the problem) and start its phases at ``now``."""
        if not 0.0 <= settings.failure_rate <= 1.0:
            raise ValueError("failure_rate: expected a number 0-1")
        if settings.status and not 200 <= settings.status <= 599:
            raise ValueError("status: expected an HTTP status 200-599")
        if settings.delay_ms < 0:
            raise ValueError("delay_ms: expected milliseconds >= 0")
        phases = tuple(parse_phase(text, i) for i, text in enumerate(settings.phases))
        return cls(settings, phases, now)


def parse_phase(text: str, index: int = 0) -> Phase:
    """Parse ``ACTION[@RATE][:DURATION]``; ValueError with a readable message if it is not."""
    where = f"phases[{index}] {text!r}"
    match = _PHASE.match(text.strip().lower())
    if not match:
        raise ValueError(f"{where}: expected ACTION[@RATE][:DURATION], ACTION one of ok, hang, "
                         "close or an HTTP status, e.g. '500:2m' or 'hang@0.5:30s'")
    action_text, rate_text, duration_text = match["action"], match["rate"], match["dur"]
    rate = 1.0
    if rate_text is not None:
        try:
            rate = float(rate_text)
        except ValueError:
            rate = -1.0
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"{where}: the rate after '@' must be a number 0-1")
    duration = None
    if duration_text is not None:
        d = _DURATION.match(duration_text)
        if not d:
            raise ValueError(f"{where}: duration must look like 500ms, 30s, 2m, 1h or 30")
        duration = float(d["n"]) * _UNITS[d["unit"]]
    if action_text.isdigit():
        status = int(action_text)
        if not 200 <= status <= 599:  # a 1xx is not a final answer
            raise ValueError(f"{where}: expected an HTTP status 200-599")
        return Phase("status", status, rate, duration)
    return Phase(action_text, 0, rate, duration)  # type: ignore[arg-type]


def current_phase(plan: FaultPlan, now: float) -> int | None:
    """Index of the phase playing at ``now``, or None when there are none or they are over."""
    elapsed = now - plan.started_at
    for index, phase in enumerate(plan.phases):
        if phase.duration is None or elapsed < phase.duration:
            return index
        elapsed -= phase.duration
    return None


def decide(plan: FaultPlan, now: float, rng: random.Random) -> Decision:
    """The fault, if any, for a request arriving at ``now``."""
    if plan.quiet:
        return NO_FAULT
    base = plan.settings
    delay = base.delay_ms / 1000
    index = current_phase(plan, now)
    if index is not None:
        phase = plan.phases[index]
        hit = phase.action != "ok" and (phase.rate >= 1.0 or rng.random() < phase.rate)
        if not hit:
            return Decision("ok", delay=delay, phase=index)
        return Decision(phase.action, phase.status, delay, index)
    action = _base_action(base)
    if action == "ok":
        return Decision("ok", delay=delay)
    # A rate of 0 with a fault named means "every request": otherwise naming it would do nothing.
    rate = base.failure_rate or 1.0
    if rate < 1.0 and rng.random() >= rate:
        return Decision("ok", delay=delay)
    status = (base.status or DEFAULT_FAULT_STATUS) if action == "status" else 0
    return Decision(action, status, delay)


def _base_action(base: FaultSettings) -> Action:
    """The most drastic fault named: close beats hang beats status; a bare rate means status."""
    if base.close_connection:
        return "close"
    if base.hang:
        return "hang"
    if base.status or base.failure_rate > 0:
        return "status"
    return "ok"
