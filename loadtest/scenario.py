"""Pure parsing of the load-test inputs: ``20/s``, ``600/min``, ``15m``, ``1h30m``."""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_RATE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*/\s*(s|sec|m|min|h)\s*")
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|min|m|h)?")


class ScenarioError(ValueError):
    """Input a person typed wrong; the message says what was expected."""


def parse_rate(text: str) -> float:
    """Events per platform second: ``20/s`` -> 20, ``600/min`` -> 10, ``3600/h`` -> 1."""
    match = _RATE.fullmatch(text or "")
    if match is None:
        raise ScenarioError(f"rate must look like 20/s, 600/min or 3600/h, got {text!r}")
    per = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}[match[2]]
    rate = float(match[1]) / per
    if rate <= 0:
        raise ScenarioError(f"rate must be positive, got {text!r}")
    return rate


def parse_duration(text: str) -> float:
    """Platform seconds: ``15m``, ``90s``, ``1h30m``, ``500ms`` or bare seconds (``45``)."""
    text = (text or "").strip().replace(" ", "")
    total, pos = 0.0, 0
    while pos < len(text):
        match = _PART.match(text, pos)
        if match is None or (match[2] is None and match.end() != len(text)):
            break
        total += float(match[1]) * _UNITS[match[2] or "s"]
        pos = match.end()
    if not text or pos != len(text) or total <= 0:
        raise ScenarioError(f"duration must look like 15m, 90s, 1h30m or 45, got {text!r}")
    return total


def parse_fraction(text: str, name: str) -> float:
    """A share 0-1 (``0.15``) or a percentage (``15%``)."""
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except (ValueError, AttributeError):
        raise ScenarioError(f"{name} must be a number 0-1 or a percentage, got {text!r}") from None
    if not 0 <= value <= 1:
        raise ScenarioError(f"{name} must be between 0 and 1 (or 0%-100%), got {text!r}")
    return value


def parse_count(text: str, name: str) -> int:
    """A whole number of 1 or more (``1000``; ``1_000`` and ``1,000`` are not accepted)."""
    value = (text or "").strip()
    if not value.isdigit() or int(value) < 1:
        raise ScenarioError(f"{name} must be a whole number of 1 or more, got {text!r}")
    return int(value)


def clock_text(seconds: float) -> str:
    """Platform time since the start as ``HH:MM:SS`` (``462.4`` -> ``00:07:42``)."""
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}"


@dataclass(frozen=True)
class Scenario:
    """What to play: ``rate`` events per platform second for ``duration`` platform seconds.

    ``subscriptions`` (``predict`` only; ``load`` plays one) each get their own stream at ``rate``.
    """

    rate: float
    duration: float
    category: str = "stock"
    preset: str = "current"
    seed: int = 0
    subscriptions: int = 1

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.duration <= 0:
            raise ScenarioError("rate and duration must be positive")
        if self.subscriptions < 1:
            raise ScenarioError(f"subscriptions must be 1 or more, got {self.subscriptions}")

    @property
    def events(self) -> int:
        """How many events one subscription's stream makes (event ``i`` is due at ``i / rate``)."""
        return max(1, int(self.rate * self.duration))
