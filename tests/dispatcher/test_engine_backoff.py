"""Back-off executed by the engine against a real failing endpoint (spec section 6)."""

from __future__ import annotations

import pytest

from dispatcher.backoff import BackoffRules
from tests.dispatcher.test_engine import subscribe


@pytest.fixture
def backoff_rules() -> BackoffRules:
    # Small numbers, same shape as the platform's: 5 errors/300 s pause 60 s, 3 pauses/600 s stop.
    return BackoffRules(5, 300.0, 60.0, 3, 600.0)


async def test_backoff_pauses_suppresses_resumes_and_stops(dispatcher, target):
    target.status = 500
    sub = await subscribe(dispatcher, target.url)
    await dispatcher.service.send_events(category="stock", count=4)
    await dispatcher.run_due()
    assert (await dispatcher.service.get_subscription(sub.guid)).status == "ACTIVE"  # 4 errors

    await dispatcher.service.send_events(category="stock", count=3)
    await dispatcher.run_due()                # 3 attempts in flight together: the 5th error pauses
    view = await dispatcher.service.backoff(sub.guid)
    assert view.status == "PAUSED"
    assert [t.kind for t in view.history] == ["PAUSED"]
    paused_at = view.history[0].at

    # An event that falls due while paused is Not sent, and is not sent later by itself.
    await dispatcher.service.send_events(category="stock")
    sent_before = len(target.requests)
    await dispatcher.run_due()
    assert len(target.requests) == sent_before
    counts = await dispatcher.service.deliveries.status_counts(sub.guid)
    assert counts["NOT_SENT"] == 1

    # After 60 s it resumes by itself; the window still holds 5+ errors, so the next error
    # pauses again at once, and the 3rd pause inside 10 minutes stops it.
    await dispatcher.advance(60)
    view = await dispatcher.service.backoff(sub.guid)
    assert view.history[1].kind == "RESUMED" and view.history[1].at == paused_at + 60
    for _ in range(2):
        await dispatcher.service.send_events(category="stock")
        await dispatcher.run_due()
        await dispatcher.advance(60)
    view = await dispatcher.service.backoff(sub.guid)
    assert [t.kind for t in view.history] == ["PAUSED", "RESUMED", "PAUSED", "RESUMED", "STOPPED"]
    assert view.status == "STOPPED"

    # Stopped until an operator restarts it: retries now fall due and are not sent.
    sent_before = len(target.requests)
    await dispatcher.advance(600)
    assert len(target.requests) == sent_before
    restarted = await dispatcher.service.restart_subscription(sub.guid)
    assert restarted.status == "ACTIVE"
    view = await dispatcher.service.backoff(sub.guid)
    assert view.history[-1].kind == "RESTARTED" and view.errors_in_window == 0
    target.status = 200
    await dispatcher.service.send_events(category="stock")
    await dispatcher.run_due()
    assert len(target.requests) == sent_before + 1
