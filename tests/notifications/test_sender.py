"""The sender against a real SMTP server in-process (aiosmtpd) and a real SQLite file."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from dispatcher.notifications import NotificationSender
from dispatcher.settings import SmtpSettings
from storage import Database, StorageUnavailable
from storage.notifications import Notification, NotificationStatus, NotificationStore
from tests.notifications import (
    AT,
    REFUSED_DOMAIN,
    RecordingLog,
    SmtpServer,
    Subscription,
    eventually,
    free_port,
    paused,
)

PENDING, SENT, FAILED = NotificationStatus.PENDING, NotificationStatus.SENT, NotificationStatus.FAILED
WALL = AT + 5.0


def sender_for(store: NotificationStore, settings: SmtpSettings, log: RecordingLog | None = None
               ) -> NotificationSender:
    return NotificationSender(store, settings, now=lambda: WALL, log=log or RecordingLog())


async def statuses(store: NotificationStore) -> list[NotificationStatus]:
    return [n.status for n in reversed((await store.list()).items)]


async def test_a_pending_notification_is_mailed_and_marked_sent(
    store: NotificationStore, smtp: SmtpServer, smtp_settings: SmtpSettings
) -> None:
    notification = await store.add(paused())
    log = RecordingLog()

    assert await sender_for(store, smtp_settings, log).send_pending() == 1

    (mail,) = smtp.received
    assert mail.sender == "hooksim@example.test"
    assert mail.recipients == ("ops@example.test",)
    assert mail.message["To"] == "ops@example.test"
    assert mail.message["From"] == "hooksim@example.test"
    assert mail.message["Subject"] == '[hooksim] Webhook subscription "Stock" paused'
    assert mail.message["Message-ID"]
    assert mail.body.replace("\r\n", "\n") == notification.body
    assert "50 errors in 5 min" in mail.body and Subscription.url in mail.body
    sent = await store.get(notification.id)
    assert (sent.status, sent.sent_at, sent.attempts) == (SENT, WALL, 1)
    assert log.events() == ["notification.sent"]
    assert await sender_for(store, smtp_settings).send_pending() == 0  # nothing is sent twice
    assert len(smtp.received) == 1


async def test_nothing_is_lost_while_smtp_is_down(store: NotificationStore) -> None:
    port = free_port()
    settings = SmtpSettings(enabled=True, port=port, timeout=5.0, max_attempts=3)
    first, second = await store.add(paused(at=AT)), await store.add(paused(at=AT + 1))
    log = RecordingLog()

    assert await sender_for(store, settings, log).send_pending() == 0

    down = await store.get(first.id)
    assert (down.status, down.attempts, down.last_attempt_at) == (PENDING, 1, WALL)
    assert down.last_error is not None and f"127.0.0.1:{port} unavailable" in down.last_error
    # The server is the problem, so the round stopped: the second email was not even tried.
    assert (await store.get(second.id)).attempts == 0
    (level, event, fields), = log.lines
    assert (level, event, fields["given_up"], fields["attempts"]) == ("warning", "notification.failed",
                                                                      False, 1)

    with SmtpServer.running(port) as server:
        assert await sender_for(store, settings).send_pending() == 2
    assert [mail.message["Subject"] for mail in server.received] == [first.subject, second.subject]
    assert await statuses(store) == [SENT, SENT]


async def test_after_max_attempts_a_notification_is_failed_for_good(db: Database) -> None:
    store = NotificationStore(db)
    settings = SmtpSettings(enabled=True, port=free_port(), timeout=5.0, max_attempts=2)
    notification = await store.add(paused())
    log = RecordingLog()
    sender = sender_for(store, settings, log)
    await sender.send_pending()
    await sender.send_pending()
    failed = await store.get(notification.id)
    assert (failed.status, failed.attempts) == (FAILED, 2)
    assert [fields["given_up"] for _, _, fields in log.lines] == [False, True]
    assert await sender.send_pending() == 0
    assert (await store.get(notification.id)).attempts == 2


async def test_disabled_smtp_stores_without_sending(
    store: NotificationStore, smtp: SmtpServer, smtp_settings: SmtpSettings
) -> None:
    await store.add(paused())
    log = RecordingLog()
    assert await sender_for(store, replace(smtp_settings, enabled=False), log).send_pending() == 0
    assert smtp.received == []
    (notification,) = (await store.list()).items
    assert (notification.status, notification.attempts) == (NotificationStatus.DISABLED, 0)
    assert log.events() == ["notification.disabled"]


async def test_a_refused_recipient_fails_at_once_and_the_round_goes_on(
    store: NotificationStore, smtp: SmtpServer, smtp_settings: SmtpSettings
) -> None:
    refused = await store.add(paused(Subscription(notification_email=f"nobody@{REFUSED_DOMAIN}")))
    no_address = await store.add(paused(Subscription(notification_email="")))
    fine = await store.add(paused())

    assert await sender_for(store, smtp_settings).send_pending() == 1

    assert [mail.recipients for mail in smtp.received] == [("ops@example.test",)]
    refused_now = await store.get(refused.id)
    assert refused_now.status is FAILED and "550" in (refused_now.last_error or "")
    no_address_now = await store.get(no_address.id)
    assert no_address_now.status is FAILED
    assert "no notification email address" in (no_address_now.last_error or "")
    assert (await store.get(fine.id)).status is SENT


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # aiosmtpd, test only
async def test_login_without_the_password_in_the_log(store: NotificationStore) -> None:
    with SmtpServer.running(logins={"hooksim": "s3cr3t-pw"}) as server:
        settings = SmtpSettings(enabled=True, port=server.port, username="hooksim",
                                password="s3cr3t-pw", timeout=5.0)
        wrong = replace(settings, password="wrong")
        log = RecordingLog()
        await store.add(paused())
        assert await sender_for(store, wrong, log).send_pending() == 0
        assert await sender_for(store, settings, log).send_pending() == 1
    assert len(server.received) == 1
    assert log.events() == ["notification.failed", "notification.sent"]
    assert "535" in log.lines[0][2]["error"]
    assert "s3cr3t-pw" not in repr(log.lines) and "wrong" not in repr(log.lines)


async def test_the_run_loop_sends_when_woken(
    store: NotificationStore, smtp: SmtpServer, smtp_settings: SmtpSettings
) -> None:
    sender = sender_for(store, replace(smtp_settings, retry_interval=3600.0))
    sender.start()
    try:
        await eventually(lambda: sender.running)
        await store.add(paused())
        sender.wake()
        await eventually(lambda: len(smtp.received) == 1)
    finally:
        await sender.stop()
    assert not sender.running


async def test_the_run_loop_retries_once_smtp_is_back(store: NotificationStore) -> None:
    port = free_port()
    settings = SmtpSettings(enabled=True, port=port, timeout=5.0, retry_interval=0.02, max_attempts=1000)
    notification = await store.add(paused())
    sender = sender_for(store, settings)
    sender.start()
    try:
        await eventually(lambda: _attempted(store, notification))
        with SmtpServer.running(port) as server:
            await eventually(lambda: _status_is(store, notification, SENT))
    finally:
        await sender.stop()
    assert len(server.received) == 1


async def _attempted(store: NotificationStore, notification: Notification) -> bool:
    return (await store.get(notification.id)).attempts > 0


async def _status_is(store: NotificationStore, notification: Notification,
                     status: NotificationStatus) -> bool:
    return (await store.get(notification.id)).status is status


class FlakyStore(NotificationStore):
    """Its first round finds the database locked."""

    failures = 1

    async def claim(self, limit: int, **kwargs: Any) -> tuple[Notification, ...]:
        if self.failures:
            self.failures -= 1
            raise StorageUnavailable("database unavailable: database is locked")
        return await super().claim(limit, **kwargs)


async def test_the_run_loop_outlives_a_storage_outage(
    store: NotificationStore, smtp: SmtpServer, smtp_settings: SmtpSettings
) -> None:
    flaky = FlakyStore(store.db)
    await flaky.add(paused())
    log = RecordingLog()
    sender = sender_for(flaky, smtp_settings, log)
    sender.start()
    try:
        await eventually(lambda: "notification.sent" in log.events())
    finally:
        await sender.stop()
    assert log.events()[:2] == ["notification.round_failed", "notification.sent"]
    assert len(smtp.received) == 1


@pytest.mark.parametrize("interval", [0.0, 3600.0])
async def test_stop_cancels_cleanly_whatever_the_loop_is_doing(
    store: NotificationStore, smtp_settings: SmtpSettings, interval: float
) -> None:
    sender = sender_for(store, replace(smtp_settings, retry_interval=interval))
    sender.start()
    sender.start()  # a second start is a no-op
    await asyncio.sleep(0)
    await sender.stop()
    await sender.stop()
    assert not sender.running


async def test_senders_in_two_processes_never_mail_the_same_notification(
    db: Database, storage_settings: Any, smtp: SmtpServer, smtp_settings: SmtpSettings
) -> None:
    # Two senders on two database handles (as two dispatcher processes would have), working
    # at once: each claims its own batches, so every notification goes out exactly once.
    from storage.backends import open_storage

    other_db = await open_storage(storage_settings)
    try:
        first, second = NotificationStore(db), NotificationStore(other_db)
        for n in range(25):
            await first.add(paused(Subscription(name=f"Sub {n}")))
        counts = await asyncio.gather(sender_for(first, smtp_settings).send_pending(),
                                      sender_for(second, smtp_settings).send_pending())
    finally:
        await other_db.close()
    assert sum(counts) == 25 and all(counts)   # both took part
    subjects = [mail.message["Subject"] for mail in smtp.received]
    assert len(subjects) == len(set(subjects)) == 25
    assert await statuses(first) == [SENT] * 25


async def test_a_round_cut_short_by_the_server_releases_the_rest_of_its_batch(
    store: NotificationStore, smtp_settings: SmtpSettings
) -> None:
    for n in range(3):
        await store.add(paused(Subscription(name=f"Sub {n}")))
    down = replace(smtp_settings, port=free_port())   # connection refused: a server failure
    assert await sender_for(store, down).send_pending() == 0
    notifications = [await store.get(i) for i in (1, 2, 3)]
    assert [n.attempts for n in notifications] == [1, 0, 0]
    assert [n.claimed_until for n in notifications] == [None, None, None]
    # So the next round takes all three at once, not when a lease runs out.
    assert len(await store.claim(10, now=WALL, lease_until=WALL + 60)) == 3
