"""Delivery policy: what an attempt's outcome means and what to do next (spec section 5).

Pure data and functions: the worker performs the HTTP attempt, builds an :class:`Outcome`, asks
:func:`decide` and carries out the :data:`Decision`. Retries are driven entirely by a
:class:`RetrySchedule`, so the schedule is a setting rather than code.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from dispatcher import events as catalogue
from dispatcher.settings import DispatcherSettings


class OutcomeKind(StrEnum):
    HTTP = "http"
    TIMEOUT = "timeout"
    CONNECT_ERROR = "connect_error"
    ERROR = "error"  # anything else, e.g. an invalid response


@dataclass(frozen=True)
class Outcome:
    """The result of one HTTP attempt. ``status`` is set exactly when ``kind`` is HTTP."""

    kind: OutcomeKind
    status: int | None = None
    latency_ms: float = 0.0
    detail: str = ""

    def __post_init__(self) -> None:
        if (self.kind is OutcomeKind.HTTP) != (self.status is not None):
            raise ValueError(f"status must be set exactly for HTTP outcomes: {self.kind} {self.status}")

    @property
    def is_success(self) -> bool:
        """Only a 2xx is a success; redirects are not followed, so a 3xx is not one."""
        return self.status is not None and 200 <= self.status <= 299

    @property
    def is_error(self) -> bool:
        """Back-off counts every attempt that did not get a 2xx (spec section 6)."""
        return not self.is_success

    @property
    def label(self) -> str:
        """Short text for logs and the portal: ``"200"``, ``"timeout"``, ``"connect_error"``."""
        return str(self.status) if self.status is not None else self.kind.value


_RETRYABLE_STATUSES = frozenset({404, 429})


def is_retryable(outcome: Outcome) -> bool:
    """Timeouts, connection failures, other transport errors, 404, 429 and any 5xx are retried.

    Connection failures are retried like a timeout (spec decision), and so is a generic ERROR: it
    means the endpoint did not give a usable answer, which is what a timeout means too. Every other
    status (2xx, 3xx, other 4xx, anything non-standard) is final.
    """
    if outcome.status is None:
        return True
    return outcome.status in _RETRYABLE_STATUSES or 500 <= outcome.status <= 599


# The categories on availability's fast schedule: the catalogue's specs say which.
AVAILABILITY_CATEGORIES = frozenset(name for name in catalogue.categories()
                                    if catalogue.retries(name) == "availability")


@dataclass(frozen=True)
class RetrySchedule:
    """``delays[i]``: platform seconds to wait after attempt ``i + 1`` fails, before attempt ``i + 2``."""

    delays: tuple[float, ...]

    def __post_init__(self) -> None:
        if any(delay < 0 for delay in self.delays):
            raise ValueError(f"retry delays must not be negative: {self.delays}")

    @property
    def max_attempts(self) -> int:
        return len(self.delays) + 1


def schedule_for(category: str, settings: DispatcherSettings) -> RetrySchedule:
    """Availability messages have their own fast schedule; every other category the standard one.

    Which one a category uses is part of its spec in the event catalogue (``CategorySpec.retries``).
    """
    if catalogue.retries(category) == "availability":
        return RetrySchedule(tuple(settings.availability_retry_delays))
    return RetrySchedule(tuple(settings.retry_delays))


@dataclass(frozen=True)
class Succeeded:
    pass


@dataclass(frozen=True)
class RetryAfter:
    delay: float
    next_attempt: int


@dataclass(frozen=True)
class GaveUp:
    reason: str


Decision = Succeeded | RetryAfter | GaveUp


def decide(outcome: Outcome, attempt_number: int, schedule: RetrySchedule) -> Decision:
    """What to do after attempt ``attempt_number`` (1-based) ended with ``outcome``."""
    if attempt_number < 1:
        raise ValueError(f"attempt numbers start at 1, got {attempt_number}")
    if outcome.is_success:
        return Succeeded()
    if not is_retryable(outcome):
        return GaveUp(f"not retryable: HTTP {outcome.status}")
    if attempt_number >= schedule.max_attempts:
        noun = "attempt" if attempt_number == 1 else "attempts"
        return GaveUp(f"retries exhausted after {attempt_number} {noun}")
    return RetryAfter(delay=schedule.delays[attempt_number - 1], next_attempt=attempt_number + 1)


class DeliveryStatus(StrEnum):
    """The portal's event statuses. NOT_SENT is set by the worker when back-off forbids sending."""

    SUCCESS = "SUCCESS"
    PENDING = "PENDING"
    NOT_SENT = "NOT_SENT"
    FAILURE = "FAILURE"


def status_after(decision: Decision) -> DeliveryStatus:
    match decision:
        case Succeeded():
            return DeliveryStatus.SUCCESS
        case RetryAfter():
            return DeliveryStatus.PENDING
        case GaveUp():
            return DeliveryStatus.FAILURE
    raise TypeError(f"not a Decision: {decision!r}")
