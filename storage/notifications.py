"""The notification log, which is also the outbox of notification emails.

A notification is recorded in the same transaction as the back-off transition that causes it
(:func:`insert_notification`), so a committed pause, stop or restart always has its email stored,
and an email is never stored for a transition that was rolled back. A sender then delivers PENDING
notifications and records the outcome (:class:`NotificationStore`); nothing is lost while SMTP is
down, because a notification stays PENDING until it is sent or has failed for good.

Status: PENDING (to send; ``attempts`` > 0 means earlier tries failed and it will be retried),
SENT, FAILED (given up: ``max_attempts`` reached or a permanent refusal) or DISABLED (recorded
while SMTP was switched off; never sent).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import aiosqlite

from storage.errors import Conflict, NotFound
from storage.query import keyset_page, where
from storage.schema import Schema
from storage.sqlite import Database, translate

NOTIFICATIONS_SCHEMA = Schema(
    "notifications",
    (
        """
        CREATE TABLE notification (
            id                INTEGER PRIMARY KEY,
            kind              TEXT NOT NULL CHECK (kind IN ('PAUSED', 'STOPPED', 'RESTARTED')),
            subscription_guid TEXT NOT NULL,
            subscription_name TEXT NOT NULL,
            event_category    TEXT NOT NULL,
            webhook_url       TEXT NOT NULL,
            recipient         TEXT NOT NULL,
            subject           TEXT NOT NULL,
            body              TEXT NOT NULL,
            created_at        REAL NOT NULL,
            status            TEXT NOT NULL DEFAULT 'PENDING'
                              CHECK (status IN ('PENDING', 'SENT', 'FAILED', 'DISABLED')),
            attempts          INTEGER NOT NULL DEFAULT 0,
            last_error        TEXT,
            last_attempt_at   REAL,
            sent_at           REAL
        );
        CREATE INDEX notification_newest ON notification (created_at, id);
        CREATE INDEX notification_by_subscription ON notification (subscription_guid, created_at, id);
        CREATE INDEX notification_pending ON notification (id) WHERE status = 'PENDING';
        """,
    ),
)


class NotificationKind(StrEnum):
    PAUSED = "PAUSED"
    STOPPED = "STOPPED"
    RESTARTED = "RESTARTED"


class NotificationStatus(StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    FAILED = "FAILED"
    DISABLED = "DISABLED"


@dataclass(frozen=True)
class NewNotification:
    """A composed notification email, about to be recorded. ``created_at`` is epoch seconds."""

    kind: NotificationKind
    subscription_guid: str
    subscription_name: str
    event_category: str
    webhook_url: str
    recipient: str
    subject: str
    body: str
    created_at: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", NotificationKind(self.kind))  # refuses RESUMED and typos


@dataclass(frozen=True, kw_only=True)
class Notification(NewNotification):
    """A recorded notification with its delivery state (times are epoch seconds)."""

    id: int
    status: NotificationStatus
    attempts: int = 0
    last_error: str | None = None
    last_attempt_at: float | None = None
    sent_at: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "status", NotificationStatus(self.status))


@dataclass(frozen=True)
class Page:
    """One page of the log, newest first. ``next_cursor``, the ``(created_at, id)`` of the last
    item, fetches the next (older) page; None on the last page."""

    items: tuple[Notification, ...]
    next_cursor: tuple[float, int] | None


_COLUMNS = (
    "kind, subscription_guid, subscription_name, event_category, webhook_url, recipient, subject, "
    "body, created_at"
)


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except sqlite3.Error as exc:
        raise translate(exc) from exc


_INSERT = f"INSERT INTO notification ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"


def _values(n: NewNotification) -> tuple[Any, ...]:
    return (n.kind.value, n.subscription_guid, n.subscription_name, n.event_category,
            n.webhook_url, n.recipient, n.subject, n.body, n.created_at)


async def insert_notification(conn: aiosqlite.Connection, notification: NewNotification) -> int:
    """Record ``notification`` as PENDING on ``conn``, inside the caller's open transaction.

    Contract: ``conn`` is the connection yielded by :meth:`Database.write` and this runs within
    that ``async with`` block; it neither begins nor commits. The notification therefore commits
    or rolls back together with the caller's other writes (e.g. the back-off transition). After
    the commit, wake the sender so it goes out at once. Returns the new notification's id.
    """
    with _translated():
        cursor = await conn.execute(_INSERT, _values(notification))
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def insert_notification_in_batch(conn: sqlite3.Connection, notification: NewNotification) -> int:
    """:func:`insert_notification` for work run by :meth:`Database.write_batch` (the plain
    sqlite3 connection, on the database thread), e.g. the dispatcher's recording batches: same
    contract, the caller's transaction commits or rolls it back."""
    cursor = conn.execute(_INSERT, _values(notification))
    assert cursor.lastrowid is not None
    return cursor.lastrowid


class NotificationStore:
    """The notification log on ``db``. Every method is its own transaction (or read).

    ``max_attempts``: failed sends after which a notification is FAILED for good.
    """

    def __init__(self, db: Database, *, max_attempts: int = 10) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        self.db = db
        self.max_attempts = max_attempts

    async def add(self, notification: NewNotification) -> Notification:
        """Record ``notification`` in a transaction of its own (for callers that have none)."""
        async with self.db.write() as conn:
            id_ = await insert_notification(conn, notification)
        return await self.get(id_)

    async def get(self, id_: int) -> Notification:
        rows = await self._select("WHERE id = ?", (id_,))
        if not rows:
            raise NotFound(f"no notification {id_}")
        return rows[0]

    async def pending(self, limit: int = 100, *, after: int = 0) -> tuple[Notification, ...]:
        """Up to ``limit`` PENDING notifications with an id above ``after``, oldest first."""
        return await self._select(
            "WHERE status = 'PENDING' AND id > ? ORDER BY id LIMIT ?", (after, limit)
        )

    async def mark_sent(self, id_: int, at: float) -> Notification:
        return await self._update(
            id_, "status = 'SENT', attempts = attempts + 1, last_attempt_at = ?, sent_at = ?", (at, at)
        )

    async def mark_failed(self, id_: int, at: float, error: str, *, permanent: bool = False) -> Notification:
        """Count a failed send. It stays PENDING (retried later) until ``max_attempts`` failures,
        or a ``permanent`` one (e.g. the recipient was refused), make it FAILED for good."""
        return await self._update(
            id_,
            "attempts = attempts + 1, last_error = ?, last_attempt_at = ?, "
            "status = CASE WHEN ? OR attempts + 1 >= ? THEN 'FAILED' ELSE 'PENDING' END",
            (error, at, permanent, self.max_attempts),
        )

    async def mark_disabled(self, id_: int) -> Notification:
        """SMTP is switched off: keep the notification in the log, never send it."""
        return await self._update(id_, "status = 'DISABLED'", ())

    async def list(
        self,
        kind: str | None = None,
        subscription_guid: str | None = None,
        from_: float | None = None,
        to: float | None = None,
        limit: int = 50,
        cursor: tuple[float, int] | None = None,
    ) -> Page:
        """Notifications newest first, keyset-paginated on ``(created_at, id)``, optionally of one
        kind and subscription, created in ``[from_, to)``, older than ``cursor``."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        filters, params = where(
            ("kind = ?", None if kind is None else NotificationKind(kind).value),
            ("subscription_guid = ?", subscription_guid),
            ("created_at >= ?", from_),
            ("created_at < ?", to),
            ("(created_at, id) < (?, ?)", cursor),
        )
        rows = await self._select(f"{filters} ORDER BY created_at DESC, id DESC LIMIT ?",
                                  (*params, limit + 1))
        items, next_cursor = keyset_page(rows, limit, lambda n: (n.created_at, n.id))
        return Page(tuple(items), next_cursor)

    async def _select(self, tail: str, params: tuple[Any, ...]) -> tuple[Notification, ...]:
        async with self.db.read() as conn:
            rows = await (await conn.execute(f"SELECT * FROM notification {tail}", params)).fetchall()
        return tuple(Notification(**dict(row)) for row in rows)

    async def _update(self, id_: int, assignments: str, params: tuple[Any, ...]) -> Notification:
        """Update a PENDING notification; NotFound if there is none, Conflict if it is settled."""
        async with self.db.write() as conn:
            with _translated():
                rows = list(await (await conn.execute(
                    f"UPDATE notification SET {assignments} WHERE id = ? AND status = 'PENDING' "
                    "RETURNING *",
                    (*params, id_),
                )).fetchall())
                row = rows[0] if rows else None
                if row is None:
                    exists = await (await conn.execute(
                        "SELECT status FROM notification WHERE id = ?", (id_,))).fetchone()
        if row is None:
            if exists is None:
                raise NotFound(f"no notification {id_}")
            raise Conflict(f"notification {id_} is already {exists['status']}")
        return Notification(**dict(row))
