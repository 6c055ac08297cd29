"""What the three emails say: which subscription, when, why, until when, what to do."""

from __future__ import annotations

import pytest

from dispatcher.transitions import compose
from storage.notifications import NotificationKind
from tests.notifications import AT, Subscription, paused

SUB = Subscription()
WHEN = "2024-03-28T15:11:01.050Z"


def assert_names_the_subscription(body: str) -> None:
    for fact in (SUB.name, SUB.guid, SUB.event_category, SUB.url):
        assert fact in body


def test_paused_says_why_and_until_when() -> None:
    n = paused()
    assert n.subject == '[hooksim] Webhook subscription "Stock" paused'
    assert (n.kind, n.recipient, n.created_at) == (NotificationKind.PAUSED, SUB.notification_email, AT)
    assert (n.subscription_guid, n.subscription_name, n.event_category, n.webhook_url) == (
        SUB.guid, SUB.name, SUB.event_category, SUB.url)
    assert_names_the_subscription(n.body)
    assert f"paused at {WHEN}" in n.body
    assert "50 errors in 5 min" in n.body
    assert "Paused until:      2024-03-28T15:12:01.050Z" in n.body
    assert "resumes by itself" in n.body
    assert '"Not sent"' in n.body and "Replay" in n.body


def test_stopped_says_a_restart_is_needed() -> None:
    n = compose("STOPPED", SUB, AT, 50, 9, reason="9 pauses in 10 min")
    assert n.subject == '[hooksim] Webhook subscription "Stock" stopped'
    assert_names_the_subscription(n.body)
    assert f"stopped at {WHEN}" in n.body
    assert "9 pauses in 10 min" in n.body
    assert "does not start again by itself" in n.body
    assert "restart the subscription" in n.body
    assert "Paused until" not in n.body


def test_restarted_says_delivery_resumes() -> None:
    n = compose("RESTARTED", SUB, AT)
    assert n.subject == '[hooksim] Webhook subscription "Stock" restarted'
    assert_names_the_subscription(n.body)
    assert f"restarted at {WHEN}" in n.body
    assert "sent to its webhook URL again" in n.body
    assert "Replay" in n.body


def test_without_a_reason_the_counts_explain() -> None:
    assert "failed too often: 7 errors." in compose("PAUSED", SUB, AT, 7, 1, AT + 60).body
    assert "paused too often: 3 pauses." in compose("STOPPED", SUB, AT, 3, 3).body


def test_no_email_when_a_pause_ends_by_itself() -> None:
    with pytest.raises(ValueError):
        compose("RESUMED", SUB, AT)


def test_a_pause_needs_its_end() -> None:
    with pytest.raises(ValueError, match="paused_until"):
        compose("PAUSED", SUB, AT, 50, 1)


def test_the_subject_is_one_line_whatever_the_name() -> None:
    n = compose("RESTARTED", Subscription(name="Stock\r\nBcc: victim@example.test"), AT)
    assert "\n" not in n.subject and "\r" not in n.subject
    assert n.subscription_name == "Stock\r\nBcc: victim@example.test"  # stored as it is
