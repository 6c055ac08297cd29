"""Delivery policy: outcome classification, retry schedules and the decision after an attempt."""

from __future__ import annotations

import pytest

from dispatcher.policy import (
    AVAILABILITY_CATEGORIES,
    DeliveryStatus,
    GaveUp,
    Outcome,
    OutcomeKind,
    RetryAfter,
    RetrySchedule,
    Succeeded,
    decide,
    is_retryable,
    schedule_for,
    status_after,
)
from dispatcher.settings import DispatcherSettings


def http(status: int) -> Outcome:
    return Outcome(OutcomeKind.HTTP, status=status)


TIMEOUT = Outcome(OutcomeKind.TIMEOUT, detail="read timeout")
CONNECT_ERROR = Outcome(OutcomeKind.CONNECT_ERROR, detail="connection refused")
INVALID = Outcome(OutcomeKind.ERROR, detail="invalid HTTP response")

# outcome, is_success, is_retryable, label
CLASSIFICATION = [
    (http(200), True, False, "200"),
    (http(201), True, False, "201"),
    (http(204), True, False, "204"),
    (http(301), False, False, "301"),
    (http(302), False, False, "302"),
    (http(400), False, False, "400"),
    (http(401), False, False, "401"),
    (http(403), False, False, "403"),
    (http(404), False, True, "404"),
    (http(409), False, False, "409"),
    (http(429), False, True, "429"),
    (http(500), False, True, "500"),
    (http(502), False, True, "502"),
    (http(503), False, True, "503"),
    (TIMEOUT, False, True, "timeout"),
    (CONNECT_ERROR, False, True, "connect_error"),
    (INVALID, False, True, "error"),
]


@pytest.mark.parametrize(("outcome", "success", "retryable", "label"), CLASSIFICATION, ids=lambda v: str(v))
def test_classification(outcome: Outcome, success: bool, retryable: bool, label: str) -> None:
    assert outcome.is_success is success
    assert outcome.is_error is (not success)
    assert is_retryable(outcome) is retryable
    assert outcome.label == label


@pytest.mark.parametrize(
    ("kind", "status"), [(OutcomeKind.HTTP, None), (OutcomeKind.TIMEOUT, 504), (OutcomeKind.ERROR, 200)]
)
def test_status_is_set_exactly_for_http(kind: OutcomeKind, status: int | None) -> None:
    with pytest.raises(ValueError):
        Outcome(kind, status=status)


def test_standard_schedule_is_three_attempts_five_then_ten_minutes() -> None:
    schedule = schedule_for("menus", DispatcherSettings())
    assert schedule == RetrySchedule((300.0, 600.0))
    assert schedule.max_attempts == 3


@pytest.mark.parametrize("category", sorted(AVAILABILITY_CATEGORIES))
def test_availability_schedule_is_six_attempts(category: str) -> None:
    schedule = schedule_for(category, DispatcherSettings())
    assert schedule.delays == (2.0, 4.0, 8.0, 16.0, 30.0)
    assert schedule.max_attempts == 6


def test_schedule_comes_from_settings() -> None:
    settings = DispatcherSettings(retry_delays=(1.0, 2.0, 3.0), availability_retry_delays=())
    assert schedule_for("stock", settings).max_attempts == 4
    assert schedule_for("restaurant_availability", settings).max_attempts == 1


def test_negative_delay_is_refused() -> None:
    with pytest.raises(ValueError):
        RetrySchedule((300.0, -1.0))


def run(schedule: RetrySchedule, outcome: Outcome) -> list[object]:
    """Every decision for a delivery whose every attempt ends with ``outcome``."""
    decisions: list[object] = []
    attempt = 1
    while True:
        decision = decide(outcome, attempt, schedule)
        decisions.append(decision)
        if not isinstance(decision, RetryAfter):
            return decisions
        attempt = decision.next_attempt


@pytest.mark.parametrize("outcome", [http(503), http(404), http(429), TIMEOUT, CONNECT_ERROR, INVALID])
def test_retryable_failure_follows_the_standard_schedule(outcome: Outcome) -> None:
    assert run(schedule_for("menus", DispatcherSettings()), outcome) == [
        RetryAfter(delay=300.0, next_attempt=2),
        RetryAfter(delay=600.0, next_attempt=3),
        GaveUp("retries exhausted after 3 attempts"),
    ]


def test_availability_failure_follows_its_schedule() -> None:
    decisions = run(schedule_for("restaurant_availability_toggle", DispatcherSettings()), TIMEOUT)
    assert decisions == [
        RetryAfter(2.0, 2),
        RetryAfter(4.0, 3),
        RetryAfter(8.0, 4),
        RetryAfter(16.0, 5),
        RetryAfter(30.0, 6),
        GaveUp("retries exhausted after 6 attempts"),
    ]


def test_single_attempt_schedule_gives_up_at_once() -> None:
    assert decide(TIMEOUT, 1, RetrySchedule(())) == GaveUp("retries exhausted after 1 attempt")


@pytest.mark.parametrize(("status", "attempt"), [(400, 1), (301, 1), (409, 2), (302, 3)])
def test_non_retryable_gives_up_at_once(status: int, attempt: int) -> None:
    schedule = schedule_for("menus", DispatcherSettings())
    assert decide(http(status), attempt, schedule) == GaveUp(f"not retryable: HTTP {status}")


@pytest.mark.parametrize("attempt", [1, 2, 3])
def test_success_on_any_attempt(attempt: int) -> None:
    assert decide(http(204), attempt, schedule_for("menus", DispatcherSettings())) == Succeeded()


def test_attempt_numbers_start_at_one() -> None:
    with pytest.raises(ValueError):
        decide(TIMEOUT, 0, RetrySchedule((1.0,)))


def test_status_after_each_decision() -> None:
    assert status_after(Succeeded()) is DeliveryStatus.SUCCESS
    assert status_after(RetryAfter(300.0, 2)) is DeliveryStatus.PENDING
    assert status_after(GaveUp("retries exhausted after 3 attempts")) is DeliveryStatus.FAILURE


def test_delivery_status_values() -> None:
    assert [status.value for status in DeliveryStatus] == ["SUCCESS", "PENDING", "NOT_SENT", "FAILURE"]
