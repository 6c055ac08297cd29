"""Back-off transitions reach the owner's inbox over real SMTP: pause, stop, restart; no resume."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dispatcher.backoff import BackoffRules
from dispatcher.notifications import NotificationSender
from dispatcher.settings import SmtpSettings
from storage.notifications import NotificationStore
from tests.dispatcher.test_engine import subscribe
from tests.notifications import SmtpServer

RULES = BackoffRules(5, 300.0, 60.0, 2, 600.0)   # 5 errors pause; the 2nd pause stops


@pytest.fixture
def backoff_rules() -> BackoffRules:
    return RULES


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer.running() as server:
        yield server


async def test_owner_is_emailed_on_pause_stop_and_restart_only(dispatcher, target, smtp) -> None:
    sender = NotificationSender(
        NotificationStore(dispatcher.db),
        SmtpSettings(enabled=True, host="127.0.0.1", port=smtp.port, sender="hooksim@example.test"))
    target.status = 500
    sub = await subscribe(dispatcher, target.url)

    await dispatcher.service.send_events(category="stock", count=5)
    await dispatcher.run_due()                                       # 5 errors: paused
    await dispatcher.advance(60)                                     # resumed: no email
    await dispatcher.service.send_events(category="stock")
    await dispatcher.run_due()                                       # 2nd pause: stopped
    await dispatcher.service.restart_subscription(sub.guid)
    assert await sender.send_pending() == 3

    mails = smtp.received
    assert [m.recipients for m in mails] == [("dev@example.com",)] * 3
    subjects = [m.message["Subject"] for m in mails]
    assert subjects == [f'[hooksim] Webhook subscription "Stock" {kind}'
                        for kind in ("paused", "stopped", "restarted")]
    assert "5 errors in 5 min" in mails[0].body and sub.guid in mails[0].body
    assert "2 pauses in 10 min" in mails[1].body
    history = [t.kind for t in (await dispatcher.service.backoff(sub.guid)).history]
    assert history == ["PAUSED", "RESUMED", "STOPPED", "RESTARTED"]
