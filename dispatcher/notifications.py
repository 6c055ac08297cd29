"""Notification emails: when a subscription is paused, stopped or restarted (spec section 6).

Three parts:

* :func:`dispatcher.transitions.compose` (pure) turns a back-off transition into a
  :class:`NewNotification`. The dispatcher records it in the same transaction as the
  transition, then calls :meth:`NotificationSender.wake`.
* :class:`NotificationSender` delivers every PENDING notification over SMTP (aiosmtplib) and
  records SENT or the failure; with ``[smtp] enabled = false`` it records them DISABLED instead.
  It runs as a task that sends when woken and every ``retry_interval`` (so emails that could not
  be sent while SMTP was down go out once it is back). Delivery is at least once: a crash between
  the SMTP server's acceptance and the SENT record sends that email again.
* :func:`setup_notifications` wires the sender and ``GET /api/notifications`` into the app.

No email is composed for an automatic resume (the end of a pause): ``compose`` refuses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import aiosmtplib
import structlog
from aiohttp import web

from dispatcher.api import query_limit
from dispatcher.errors import InvalidInput
from dispatcher.settings import SmtpSettings
from storage.errors import StorageError
from storage.notifications import (
    Notification,
    NotificationKind,
    NotificationStatus,
    NotificationStore,
)
from storage.web import DATABASE
from web.params import cursor_text, query_cursor, query_time
from web.routes import json_route
from web.times import iso

_log = structlog.get_logger("dispatcher.notifications")


# --- sending ---------------------------------------------------------------------------------


def gives_up(failures: int, permanent: bool, max_attempts: int) -> bool:
    """Whether a notification is FAILED for good after its ``failures``-th failed send: at a
    ``permanent`` refusal (e.g. no such mailbox) or once ``max_attempts`` sends have failed.
    (Its lease keeps other senders off it, so the attempts it was claimed with are current.)"""
    return permanent or failures >= max_attempts


@dataclass(frozen=True)
class _Failure:
    """Why one send failed. ``permanent``: never retry this email. ``server``: the SMTP server
    (not this email) is the problem, so the rest of the round waits for the next one."""

    error: str
    permanent: bool = False
    server: bool = False


def _failure(exc: Exception, settings: SmtpSettings) -> _Failure:
    """Translate an SMTP or connection error (the one place this happens). A 5xx refusal of the
    recipient or the message is permanent; anything else is retried later."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        refusals = exc.recipients
        text = "; ".join(f"{r.recipient}: SMTP {r.code} {r.message}" for r in refusals)
        return _Failure(f"recipient refused: {text}", permanent=all(r.code >= 500 for r in refusals))
    if isinstance(exc, (aiosmtplib.SMTPRecipientRefused, aiosmtplib.SMTPDataError)):
        return _Failure(f"SMTP {exc.code} {exc.message}", permanent=exc.code >= 500)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return _Failure(f"SMTP {exc.code} {exc.message}", server=True)
    return _Failure(f"SMTP server {settings.host}:{settings.port} unavailable: "
                    f"{type(exc).__name__}: {exc}", server=True)


def _message(notification: Notification, sender: str, now: float) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = notification.recipient
    message["Subject"] = notification.subject
    message["Date"] = formatdate(now, usegmt=True)
    # Stable per notification, so a resend after a crash is recognisable as the same email.
    domain = sender.rpartition("@")[2] or "hooksim.localhost"
    message["Message-ID"] = f"<notification-{notification.id}-{notification.created_at!r}@{domain}>"
    message.set_content(notification.body)
    return message


class NotificationSender:
    """Sends the stored PENDING notifications and records each outcome; never raises for SMTP."""

    # Claimed (leased) at a time: small, so a lease that must outlast the slowest SMTP
    # conversation of the whole batch stays short when a sender dies holding it.
    batch_size = 10

    def __init__(
        self,
        store: NotificationStore,
        settings: SmtpSettings,
        *,
        now: Callable[[], float] = time.time,
        log: Any = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self._now = now  # platform time, as every record the dispatcher writes
        self._log = _log if log is None else log
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()  # one round at a time in this process
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def lease_seconds(self) -> float:
        """How long a claimed batch is this sender's: every send in it may take the timeout."""
        return self.batch_size * (self.settings.timeout + 1.0)

    def wake(self) -> None:
        """Send now: call after committing a transaction that recorded a notification."""
        self._wake.set()

    async def send_pending(self) -> int:
        """One round: send every PENDING notification, oldest first. Returns how many were sent.

        Notifications are claimed (leased) a batch at a time, so senders in other processes
        sharing the database never send the same one; one whose sender dies goes out when its
        lease runs out. A failure is recorded on the notification (``last_error``,
        ``attempts``). If the SMTP server itself is unreachable or refuses to talk, the round
        ends there: the rest of the batch is released, PENDING, for the next round. Storage
        errors propagate.
        """
        async with self._lock:
            sent = 0
            after = 0
            while batch := await self._claim(after):
                for index, notification in enumerate(batch):
                    if not self.settings.enabled:
                        await self.store.mark_disabled(notification.id)
                        self._log.info("notification.disabled", **_fields(notification))
                        continue
                    failure = await self._send(notification)
                    if failure is None:
                        await self.store.mark_sent(notification.id, self._now())
                        self._log.info("notification.sent", **_fields(notification))
                        sent += 1
                        continue
                    recorded = await self.store.mark_failed(
                        notification.id, self._now(), failure.error, give_up=gives_up(
                            notification.attempts + 1, failure.permanent,
                            self.settings.max_attempts))
                    self._log.warning(
                        "notification.failed", **_fields(notification), error=failure.error,
                        attempts=recorded.attempts,
                        given_up=recorded.status is NotificationStatus.FAILED,
                    )
                    if failure.server:
                        await self.store.release([n.id for n in batch[index + 1:]])
                        return sent
                after = batch[-1].id
            return sent

    async def _claim(self, after: int) -> tuple[Notification, ...]:
        now = self._now()
        return await self.store.claim(self.batch_size, now=now,
                                      lease_until=now + self.lease_seconds, after=after)

    async def _send(self, notification: Notification) -> _Failure | None:
        if not notification.recipient:
            return _Failure("the subscription has no notification email address", permanent=True)
        settings = self.settings
        try:
            message = _message(notification, settings.sender, self._now())
        except ValueError as exc:  # e.g. a header the email library refuses
            return _Failure(f"cannot build the email: {exc}", permanent=True)
        try:
            await aiosmtplib.send(
                message,
                sender=settings.sender,
                recipients=[notification.recipient],
                hostname=settings.host,
                port=settings.port,
                timeout=settings.timeout,
                start_tls=settings.starttls,
                username=settings.username or None,
                password=settings.password if settings.username else None,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            return _failure(exc, settings)
        return None

    async def run(self, wake: asyncio.Event | None = None, interval: float | None = None) -> None:
        """Send a round now, then whenever ``wake`` is set (default: :meth:`wake`) and at the
        latest every ``interval`` seconds (default ``settings.retry_interval``). Runs until
        cancelled; a failed round (e.g. the database is locked) is logged and retried."""
        wake = self._wake if wake is None else wake
        interval = self.settings.retry_interval if interval is None else interval
        while not self._stopping:
            wake.clear()
            try:
                await self.send_pending()
            except StorageError as exc:
                self._log.warning("notification.round_failed", error=str(exc))
            except Exception:  # a bug must not end the sender: log it, try again next round
                self._log.exception("notification.round_failed")
            if self._stopping:
                return
            # asyncio.timeout, not wait_for: 3.11's wait_for can leave a cancelled caller hanging.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await wake.wait()

    def start(self) -> None:
        """Start :meth:`run` as a task (once)."""
        if not self.running:
            self._task = asyncio.get_running_loop().create_task(self.run(), name="notification-sender")

    async def stop(self) -> None:
        """Cancel the task and wait for it to end. Unsent notifications stay PENDING."""
        task, self._task = self._task, None
        if task is not None:
            # A cancel that lands inside aiosmtplib can be swallowed by it; the flag and the
            # wake-up end the loop regardless.
            self._stopping = True
            self._wake.set()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            self._stopping = False

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()


def _fields(notification: Notification) -> dict[str, Any]:
    return {"notification_id": notification.id, "kind": notification.kind.value,
            "subscription": notification.subscription_guid, "recipient": notification.recipient}


# --- web -------------------------------------------------------------------------------------

NOTIFICATION_SENDER = web.AppKey("notification_sender", NotificationSender)


def setup_notifications(
    app: web.Application, settings: SmtpSettings, *, now: Callable[[], float] = time.time,
    send: bool = True, routes: bool = True,
) -> None:
    """Run the sender while the app runs (``send``) and serve ``GET /api/notifications``
    (``routes``); a process running several roles does both.

    Call after :func:`storage.web.setup_database` (the sender needs the open database, and stops
    before it closes). ``app[NOTIFICATION_SENDER]`` is the sender, for :meth:`~NotificationSender.wake`
    and its store; without ``send`` it is never started (a dispatcher process sends the outbox).
    """

    async def sender_ctx(app: web.Application) -> AsyncIterator[None]:
        store = NotificationStore(app[DATABASE])
        sender = app[NOTIFICATION_SENDER] = NotificationSender(store, settings, now=now)
        if send:
            sender.start()
        yield
        if send:
            await sender.stop()

    app.cleanup_ctx.append(sender_ctx)
    if routes:
        app.router.add_get("/api/notifications", list_notifications)


def notification_json(n: Notification) -> dict[str, Any]:
    return {
        "id": n.id,
        "kind": n.kind.value,
        "subscriptionGuid": n.subscription_guid,
        "subscriptionName": n.subscription_name,
        "eventCategory": n.event_category,
        "webhookUrl": n.webhook_url,
        "recipient": n.recipient,
        "subject": n.subject,
        "body": n.body,
        "createdAt": iso(n.created_at),
        "status": n.status.value,
        "attempts": n.attempts,
        "lastError": n.last_error,
        "lastAttemptAt": None if n.last_attempt_at is None else iso(n.last_attempt_at),
        "sentAt": None if n.sent_at is None else iso(n.sent_at),
    }


@json_route
async def list_notifications(request: web.Request) -> web.Response:
    """``GET /api/notifications?kind=&subscription=&from=&to=&limit=&cursor=``, newest first;
    ``from`` (inclusive) and ``to`` (exclusive) are times (:mod:`web.times`). Bad parameters
    are 400 ``invalid_input`` naming the ``field``, as everywhere in the API."""
    query = request.query
    kind = query.get("kind", "").upper() or None
    if kind is not None and kind not in NotificationKind.__members__:
        raise InvalidInput(f"kind must be one of {', '.join(NotificationKind)}; got {query['kind']!r}",
                           "kind")
    from_, to = query_time(query, "from"), query_time(query, "to", end=True)
    page = await request.app[NOTIFICATION_SENDER].store.list(
        kind=kind, subscription_guid=query.get("subscription") or None, from_=from_, to=to,
        limit=query_limit(query), cursor=query_cursor(query),
    )
    return web.json_response({"items": [notification_json(n) for n in page.items],
                              "nextCursor": cursor_text(page.next_cursor)})
