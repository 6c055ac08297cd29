"""Webhook subscriptions and their back-off history."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from storage.errors import NotFound

if TYPE_CHECKING:
    from storage.backends import AnyDatabase, AnyRow, BatchConnection
    from storage.dialect import Dialect


@dataclass(frozen=True)
class SubscriptionRecord:
    guid: str
    name: str
    event_category: str
    url: str
    notification_email: str
    secret: str
    status: str                      # ACTIVE | PAUSED | STOPPED
    error_times: tuple[float, ...]   # the back-off windows (dispatcher.backoff.BackoffState)
    pause_times: tuple[float, ...]
    paused_until: float | None       # set exactly while PAUSED
    created_at: float
    modified_at: float


@dataclass(frozen=True)
class TransitionRecord:
    subscription_guid: str
    kind: str
    at: float
    errors_in_window: int
    pauses_in_window: int
    reason: str


class BackoffColumns(Protocol):
    """A back-off state as stored: the dispatcher's BackoffState is one, and so is a record."""

    @property
    def status(self) -> str: ...
    @property
    def error_times(self) -> Sequence[float]: ...
    @property
    def pause_times(self) -> Sequence[float]: ...
    @property
    def paused_until(self) -> float | None: ...


_EDITABLE = {"name", "url", "notification_email"}


def _subscription(row: AnyRow) -> SubscriptionRecord:
    return SubscriptionRecord(
        guid=row["guid"], name=row["name"], event_category=row["event_category"], url=row["url"],
        notification_email=row["notification_email"], secret=row["secret"], status=row["status"],
        error_times=tuple(json.loads(row["error_times"])),
        pause_times=tuple(json.loads(row["pause_times"])), paused_until=row["paused_until"],
        created_at=row["created_at"], modified_at=row["modified_at"],
    )


def _transition(row: AnyRow) -> TransitionRecord:
    return TransitionRecord(row["subscription_guid"], row["kind"], row["at"],
                            row["errors_in_window"], row["pauses_in_window"], row["reason"])


# The dispatcher's back-off writes run inside its batches (Database.write_batch), on the
# database thread, on the plain connection: synchronous, no hand-over per statement.

def save_backoff(conn: BatchConnection, guid: str, state: BackoffColumns, at: float) -> None:
    """Persist a subscription's back-off state; runs inside the caller's transaction."""
    conn.execute(
        "UPDATE subscription SET status = ?, error_times = ?, pause_times = ?, paused_until = ?, "
        "modified_at = ? WHERE guid = ?",
        (str(state.status), json.dumps(list(state.error_times)),
         json.dumps(list(state.pause_times)), state.paused_until, at, guid),
    )


def add_transition(conn: BatchConnection, transition: TransitionRecord) -> None:
    """Append to a subscription's back-off history; runs inside the caller's transaction."""
    conn.execute(
        "INSERT INTO backoff_transition (subscription_guid, kind, at, errors_in_window, "
        "pauses_in_window, reason) VALUES (?, ?, ?, ?, ?, ?)",
        (transition.subscription_guid, transition.kind, transition.at,
         transition.errors_in_window, transition.pauses_in_window, transition.reason),
    )


_SELECT_ONE = "SELECT * FROM subscription WHERE guid = ?"

# Batches that read a subscription's back-off state may change it: with row locks they lock the
# row first (so the state read is the latest, and no other worker changes it until this
# transaction ends: errors from every worker count in one window, one pause is decided once).
# SQLite needs none: it has one writer at a time (storage.dialect).


def _found(row: AnyRow | None, guid: str) -> SubscriptionRecord:
    if row is None:
        raise NotFound(f"no subscription {guid}")
    return _subscription(row)


def read_subscriptions(conn: BatchConnection, dialect: Dialect,
                       guids: Iterable[str]) -> dict[str, SubscriptionRecord]:
    """The subscriptions among ``guids`` that exist, for a batch that may change their back-off
    state: locked on PostgreSQL, in guid order (every batch locks in that order, so two batches
    locking the same set cannot deadlock)."""
    ordered = sorted(set(guids))
    if not ordered:
        return {}
    marks = ", ".join("?" * len(ordered))
    rows = conn.execute(f"SELECT * FROM subscription WHERE guid IN ({marks}) ORDER BY guid"
                        + dialect.for_change, ordered).fetchall()
    return {row["guid"]: _subscription(row) for row in rows}


def read_subscription(conn: BatchConnection, dialect: Dialect, guid: str) -> SubscriptionRecord:
    """One subscription for a batch that may change its back-off state (locked on PostgreSQL)."""
    return _found(conn.execute(_SELECT_ONE + dialect.for_change, (guid,)).fetchone(), guid)


def paused_until_before(conn: BatchConnection, dialect: Dialect, now: float, *,
                        lock: bool = True) -> list[SubscriptionRecord]:
    """Paused subscriptions whose pause has run out by ``now``, locked on PostgreSQL unless
    ``lock`` is False (a subscription another worker resumed meanwhile is re-checked after the
    wait, and left out; unlocked, the caller locks and re-reads them)."""
    return [_subscription(row) for row in conn.execute(
        "SELECT * FROM subscription WHERE status = 'PAUSED' AND paused_until <= ? ORDER BY guid"
        + (dialect.for_change if lock else ""), (now,)).fetchall()]


async def load_subscription(conn: Any, guid: str) -> SubscriptionRecord:
    async with conn.execute(_SELECT_ONE, (guid,)) as cur:
        return _found(await cur.fetchone(), guid)


_DELETE_CHUNK = 500   # event GUIDs per statement (well under either backend's parameter limit)


class SubscriptionStore:
    def __init__(self, db: AnyDatabase) -> None:
        self._db = db

    async def add(self, record: SubscriptionRecord) -> SubscriptionRecord:
        async with self._db.write() as conn:
            await conn.execute(
                "INSERT INTO subscription (guid, name, event_category, url, notification_email, "
                "secret, status, error_times, pause_times, paused_until, created_at, "
                "modified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (record.guid, record.name, record.event_category, record.url,
                 record.notification_email, record.secret, record.status,
                 json.dumps(list(record.error_times)), json.dumps(list(record.pause_times)),
                 record.paused_until, record.created_at, record.modified_at),
            )
        return record

    async def get(self, guid: str) -> SubscriptionRecord:
        async with self._db.read() as conn:
            return await load_subscription(conn, guid)

    async def list(self, event_category: str | None = None) -> list[SubscriptionRecord]:
        sql, args = "SELECT * FROM subscription", ()
        if event_category is not None:
            sql, args = sql + " WHERE event_category = ?", (event_category,)
        async with self._db.read() as conn:
            async with conn.execute(sql + " ORDER BY created_at, guid", args) as cur:
                return [_subscription(row) for row in await cur.fetchall()]

    async def count(self) -> int:
        async with self._db.read() as conn:
            async with conn.execute("SELECT count(*) FROM subscription") as cur:
                return (await cur.fetchone())[0]

    async def edit(self, guid: str, changes: Mapping[str, str], at: float) -> SubscriptionRecord:
        """Change name, url and/or notification_email (the event category never changes)."""
        unknown = set(changes) - _EDITABLE
        if unknown:
            raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
        async with self._db.write() as conn:
            await load_subscription(conn, guid)
            if changes:
                assignments = ", ".join(f"{field} = ?" for field in changes)
                await conn.execute(
                    f"UPDATE subscription SET {assignments}, modified_at = ? WHERE guid = ?",
                    (*changes.values(), at, guid),
                )
            return await load_subscription(conn, guid)

    async def delete(self, guid: str) -> None:
        async with self._db.write() as conn:
            async with conn.execute("SELECT DISTINCT event_guid FROM delivery "
                                    "WHERE subscription_guid = ?", (guid,)) as cur:
                events = [row[0] for row in await cur.fetchall()]
            cursor = await conn.execute("DELETE FROM subscription WHERE guid = ?", (guid,))
            if cursor.rowcount == 0:
                raise NotFound(f"no subscription {guid}")
            # Its events that no delivery refers to any more go with it: only its own events
            # are looked at (by the event index), not the whole event table.
            for start in range(0, len(events), _DELETE_CHUNK):
                chunk = events[start:start + _DELETE_CHUNK]
                await conn.execute(
                    f"DELETE FROM event WHERE guid IN ({', '.join('?' * len(chunk))}) AND NOT "
                    "EXISTS (SELECT 1 FROM delivery WHERE delivery.event_guid = event.guid)",
                    tuple(chunk))

    async def transitions(self, guid: str, since: float | None = None,
                          limit: int = 1000) -> list[TransitionRecord]:
        """Back-off history, oldest first (the newest ``limit`` of them)."""
        async with self._db.read() as conn:
            async with conn.execute(
                "SELECT * FROM (SELECT * FROM backoff_transition WHERE subscription_guid = ? "
                "AND at >= ? ORDER BY at DESC, id DESC LIMIT ?) AS newest ORDER BY at, id",
                (guid, since if since is not None else float("-inf"), limit),
            ) as cur:
                return [_transition(row) for row in await cur.fetchall()]
