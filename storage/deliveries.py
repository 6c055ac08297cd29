"""Events, their deliveries (one per event and subscription) and every attempt: the outbox.

An event and all its deliveries are committed before any attempt is made, so nothing is lost by a
crash; an attempt in flight holds a lease (``claimed_until``) that lapses if the process dies, so
the delivery is picked up again on the next start. Policy (what is due, what is retried, back-off)
is decided by the dispatcher; :class:`DispatchTransaction` only reads and writes what it is told.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, TypeVar

from storage.errors import NotFound
from storage.notifications import NewNotification, insert_notification_in_batch
from storage.query import keyset_page, where
from storage.subscriptions import (
    BackoffColumns,
    SubscriptionRecord,
    TransitionRecord,
    add_transition,
    paused_until_before,
    read_subscription,
    read_subscriptions,
    save_backoff,
)

if TYPE_CHECKING:
    from storage.backends import AnyDatabase, AnyRow, BatchConnection
    from storage.dialect import Dialect

T = TypeVar("T")


@dataclass(frozen=True)
class EventRecord:
    guid: str
    category: str
    event_type: str
    restaurant_guid: str | None
    timestamp: str
    body: bytes
    created_at: float


@dataclass(frozen=True)
class NewDelivery:
    webhook_guid: str
    subscription_guid: str
    route_key: str
    signature: str
    due_at: float | None = None   # None: due when the event is made


@dataclass(frozen=True)
class DeliveryRecord:
    id: int
    webhook_guid: str
    subscription_guid: str
    event_guid: str
    category: str
    event_type: str
    restaurant_guid: str | None
    status: str
    series: int
    attempts: int
    total_attempts: int
    next_attempt_at: float | None
    first_sent_at: float | None
    last_status_code: int | None
    last_outcome: str | None
    route_key: str
    signature: str
    body: bytes
    url: str
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class AttemptRecord:
    series: int
    number: int
    started_at: float
    outcome: str
    status_code: int | None
    latency_ms: float
    detail: str
    response_excerpt: str


@dataclass(frozen=True)
class DeliveryQuery:
    subscription_guid: str
    status: str | None = None
    created_from: float | None = None
    created_to: float | None = None
    limit: int = 50
    cursor: tuple[float, int] | None = None   # (created_at, id) of the last row already seen


@dataclass(frozen=True)
class DeliveryPage:
    items: list[DeliveryRecord]
    next_cursor: tuple[float, int] | None


# A delivery with its event and endpoint, columns in DeliveryRecord's field order: every row
# becomes a record positionally (the claim builds one per delivery it leases).
_DELIVERY_SELECT = """
SELECT d.id, d.webhook_guid, d.subscription_guid, d.event_guid, e.category, e.event_type,
       e.restaurant_guid, d.status, d.series, d.attempts, d.total_attempts, d.next_attempt_at,
       d.first_sent_at, d.last_status_code, d.last_outcome, d.route_key, d.signature, e.body,
       s.url, d.created_at, d.updated_at
FROM delivery d JOIN event e ON e.guid = d.event_guid JOIN subscription s ON s.guid = d.subscription_guid
"""


_DELIVERY_FIELDS = tuple(f.name for f in fields(DeliveryRecord))


def _delivery(row: Sequence[Any]) -> DeliveryRecord:
    """A record from a :data:`_DELIVERY_SELECT` row (a tuple, or a row of either backend read
    by position), without the frozen dataclass's ``__init__`` (one ``object.__setattr__`` per
    field: ~2 us of the claim's ~8 per row)."""
    record = object.__new__(DeliveryRecord)
    record.__dict__.update(zip(_DELIVERY_FIELDS, row))
    return record


def _attempt(row: AnyRow) -> AttemptRecord:
    return AttemptRecord(row["series"], row["number"], row["started_at"], row["outcome"],
                         row["status_code"], row["latency_ms"], row["detail"],
                         row["response_excerpt"])


# One attempt's result as :meth:`DispatchTransaction.record_attempts` writes it:
# (delivery id, the attempt, the delivery's new status, its next attempt time, recorded at).
RecordedAttempt = tuple[int, AttemptRecord, str, "float | None", float]

# When anything is next due: a pending delivery (the dialect's due_or_leased) or a pause's end.
_NEXT_DUE = (
    "SELECT min(t) FROM (SELECT min({due}) AS t FROM delivery WHERE status = 'PENDING' "
    "UNION ALL SELECT min(paused_until) FROM subscription WHERE status = 'PAUSED') AS due"
)

class DispatchTransaction:
    """The dispatcher's reads and writes inside one transaction. It runs whole on the database
    thread (:meth:`DeliveryStore.batch`), so each call is a plain synchronous statement on the
    connection: a batch of any size costs one hand-over, and commits or rolls back whole.

    On PostgreSQL every subscription a batch reads is locked until it ends (the back-off state
    is shared by every dispatcher), and the body may run again after a deadlock: it must not
    have effects outside the transaction.
    """

    def __init__(self, conn: BatchConnection, dialect: Dialect) -> None:
        self._conn = conn
        self._dialect = dialect

    def subscription(self, guid: str) -> SubscriptionRecord:
        """One subscription, locked on PostgreSQL until the batch ends."""
        return read_subscription(self._conn, self._dialect, guid)

    def lock_deliveries(self, ids: Iterable[int]) -> None:
        """Lock these deliveries (the attempts a batch records) in id order, on PostgreSQL.

        Batches lock deliveries before subscriptions, always: a claim that read a delivery just
        before another dispatcher leased it still holds its row lock to the end of its
        transaction, so a recording batch that took its subscriptions first and then waited
        for that row deadlocked with the claim waiting for the subscriptions.
        """
        ordered = sorted(set(ids))
        if self._dialect.row_locks and ordered:
            marks = ", ".join("?" * len(ordered))
            self._conn.execute(f"SELECT id FROM delivery WHERE id IN ({marks}) ORDER BY id "
                               "FOR NO KEY UPDATE", ordered).fetchall()

    def subscriptions(self, guids: Iterable[str]) -> dict[str, SubscriptionRecord]:
        """Those of ``guids`` that exist, locked on PostgreSQL in guid order: lock a set known up
        front with this, before any one of them."""
        return read_subscriptions(self._conn, self._dialect, guids)

    def save_backoff(self, guid: str, state: BackoffColumns, at: float) -> None:
        save_backoff(self._conn, guid, state, at)

    def add_transition(self, transition: TransitionRecord) -> None:
        add_transition(self._conn, transition)

    def add_notification(self, notification: NewNotification) -> int:
        """Queue an email in this transaction: it exists exactly if the transition does."""
        return insert_notification_in_batch(self._conn, notification)

    def paused_until_before(self, now: float, *, lock: bool = True) -> list[SubscriptionRecord]:
        """Paused subscriptions whose pause has run out by ``now``; ``lock=False`` only reads
        them, for a batch that locks them with others through :meth:`subscriptions`."""
        return paused_until_before(self._conn, self._dialect, now, lock=lock)

    def claim_due(self, now: float, limit: int, lease_until: float) -> list[DeliveryRecord]:
        """Pending deliveries due by ``now`` and not in flight, oldest due first; leased.

        Several dispatchers share a PostgreSQL database: each claim skips the deliveries another
        claim has locked (and is leasing right now) instead of waiting for them, so concurrent
        claims get disjoint sets; once that claim commits, its lease (claimed_until) keeps them
        out. SQLite has one writer: nothing to skip.
        """
        rows = [_delivery(row) for row in self._conn.execute(
            _DELIVERY_SELECT + "WHERE d.status = 'PENDING' AND d.next_attempt_at <= ? "
            "AND (d.claimed_until IS NULL OR d.claimed_until < ?) "
            "ORDER BY d.next_attempt_at, d.id LIMIT ?" + self._dialect.skip_locked("d"),
            (now, now, limit),
        ).fetchall()]
        if rows:   # one statement for the whole claim (half the cost of one per row)
            self._conn.execute(
                "UPDATE delivery SET claimed_until = ? WHERE id IN "
                f"({', '.join('?' * len(rows))})", (lease_until, *(row.id for row in rows)))
        return rows

    def record_attempts(self, results: Iterable[RecordedAttempt]) -> None:
        """Record attempts and move their deliveries on, in the order given.

        Each delivery's counters (``total_attempts``, ``first_sent_at``) always count the
        attempt. Its current series (attempts, last outcome, status, next attempt, lease) is only
        touched by an attempt of that series: a replay meanwhile started a new one, which the
        old series' result must not overwrite; the attempt itself is still kept in the history.
        An attempt whose delivery was deleted meanwhile (with its subscription) is dropped rather
        than failing the whole batch.
        """
        results = list(results)
        self._conn.executemany(
            "INSERT INTO attempt (delivery_id, series, number, started_at, outcome, status_code, "
            # The CAST types a NULL status code (PostgreSQL reads an untyped NULL as text here).
            "latency_ms, detail, response_excerpt) SELECT ?, ?, ?, ?, ?, CAST(? AS INTEGER), ?, "
            "?, ? "
            "WHERE EXISTS (SELECT 1 FROM delivery WHERE id = ?)",
            [(delivery_id, a.series, a.number, a.started_at, a.outcome, a.status_code,
              a.latency_ms, a.detail, a.response_excerpt, delivery_id)
             for delivery_id, a, _, _, _ in results],
        )
        # One row write per attempt; every CASE keeps the row's own values when a replay
        # started another series meanwhile (plain ? placeholders, so the attempt's series is
        # passed once per CASE: psycopg has no numbered ones).
        self._conn.executemany(
            "UPDATE delivery SET total_attempts = total_attempts + 1, "
            "first_sent_at = coalesce(first_sent_at, ?), "
            "attempts = CASE WHEN series = ? THEN ? ELSE attempts END, "
            "last_status_code = CASE WHEN series = ? THEN CAST(? AS INTEGER) "
            "ELSE last_status_code END, "
            "last_outcome = CASE WHEN series = ? THEN ? ELSE last_outcome END, "
            "status = CASE WHEN series = ? THEN ? ELSE status END, "
            "next_attempt_at = CASE WHEN series = ? THEN ? ELSE next_attempt_at END, "
            "claimed_until = CASE WHEN series = ? THEN NULL ELSE claimed_until END, "
            "updated_at = CASE WHEN series = ? THEN ? ELSE updated_at END "
            "WHERE id = ?",
            [(a.started_at, a.series, a.number, a.series, a.status_code, a.series, a.outcome,
              a.series, status, a.series, next_at, a.series, a.series, at, delivery_id)
             for delivery_id, a, status, next_at, at in results],
        )

    def set_status(self, delivery_id: int, status: str, next_attempt_at: float | None,
                   at: float, *, series: int) -> None:
        """Move a delivery to ``status`` and release its lease, unless it was replayed meanwhile
        (a new ``series`` started: the old series' result must not overwrite it)."""
        self._conn.execute(
            "UPDATE delivery SET status = ?, next_attempt_at = ?, claimed_until = NULL, "
            "updated_at = ? WHERE id = ? AND series = ?",
            (status, next_attempt_at, at, delivery_id, series),
        )

    def not_sent_before(self, subscription_guid: str, until: float, now: float) -> int:
        """Every pending delivery of a paused subscription due before its pause ends becomes
        NOT_SENT at its due moment: nothing can make it sendable earlier (only a pause's end
        does), so deciding now is deciding then, in one statement instead of one claim each.
        Returns how many."""
        # Rows another batch has locked are skipped (they are its to decide): waiting for them
        # here, after this batch has locked subscriptions, could deadlock with it.
        return self._conn.execute(
            "UPDATE delivery SET status = 'NOT_SENT', updated_at = next_attempt_at, "
            "next_attempt_at = NULL, claimed_until = NULL WHERE id IN (SELECT d.id FROM "
            "delivery d WHERE d.status = 'PENDING' AND d.next_attempt_at < ? "
            "AND d.subscription_guid = ? AND (d.claimed_until IS NULL OR d.claimed_until < ?)"
            + self._dialect.skip_locked("d") + ")",
            (until, subscription_guid, now)).rowcount

    def next_wake_at(self, now: float) -> float | None:
        """The earliest time after this transaction that something is due: a pending delivery
        not leased (or whose lease has lapsed by ``now``), or a pause ending.

        Cheap (the first row of the due index, skipping only the leased ones) because it runs
        in every claim; a lease lapsing later is left to the dispatcher's regular poll, unlike
        :meth:`DeliveryStore.next_due_at`, which counts it.
        """
        return self._conn.execute(
            "SELECT min(t) FROM (SELECT * FROM (SELECT next_attempt_at AS t FROM delivery "
            "WHERE status = 'PENDING' AND (claimed_until IS NULL OR claimed_until < ?) "
            "ORDER BY next_attempt_at LIMIT 1) AS first_due "
            "UNION ALL SELECT min(paused_until) FROM subscription WHERE status = 'PAUSED') AS due",
            (now,)).fetchone()[0]


def _add_events(conn: BatchConnection,
                events: Sequence[tuple[EventRecord, Sequence[NewDelivery]]]) -> None:
    conn.executemany(
        "INSERT INTO event (guid, category, event_type, restaurant_guid, timestamp, body, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(e.guid, e.category, e.event_type, e.restaurant_guid, e.timestamp, e.body,
          e.created_at) for e, _ in events],
    )
    conn.executemany(
        "INSERT INTO delivery (webhook_guid, subscription_guid, event_guid, status, "
        "next_attempt_at, route_key, signature, created_at, updated_at) "
        "VALUES (?, ?, ?, 'PENDING', ?, ?, ?, ?, ?)",
        [(d.webhook_guid, d.subscription_guid, e.guid,
          e.created_at if d.due_at is None else d.due_at, d.route_key, d.signature,
          e.created_at, e.created_at) for e, ds in events for d in ds],
    )


class DeliveryStore:
    def __init__(self, db: AnyDatabase) -> None:
        self._db = db

    async def batch(self, work: Callable[[DispatchTransaction], T]) -> T:
        """Run ``work`` as one write transaction on the database thread (one hand-over): it
        commits when ``work`` returns and rolls back whole if it raises (on PostgreSQL it may
        run again after a deadlock or serialization failure)."""
        dialect = self._db.dialect
        return await self._db.write_batch(lambda conn: work(DispatchTransaction(conn, dialect)))

    async def add_events(self, events: Sequence[tuple[EventRecord, Sequence[NewDelivery]]]) -> None:
        """Commit events and their deliveries (each due at once, unless it says when) in one
        transaction."""
        await self._db.write_batch(lambda conn: _add_events(conn, events))

    async def get(self, webhook_guid: str) -> DeliveryRecord:
        async with self._db.read() as conn:
            async with conn.execute(_DELIVERY_SELECT + "WHERE d.webhook_guid = ?",
                                    (webhook_guid,)) as cur:
                row = await cur.fetchone()
        if row is None:
            raise NotFound(f"no delivery {webhook_guid}")
        return _delivery(row)

    async def attempts(self, webhook_guid: str) -> list[AttemptRecord]:
        return await self._attempts("d.webhook_guid = ?", webhook_guid, "a.id")

    async def attempts_of_subscription(self, subscription_guid: str) -> list[AttemptRecord]:
        """Every attempt to one subscription's endpoint, in start order (load-test reports)."""
        return await self._attempts("d.subscription_guid = ?", subscription_guid,
                                    "a.started_at, a.id")

    async def attempts_by_delivery(self, delivery_ids: Sequence[int]
                                   ) -> dict[int, list[AttemptRecord]]:
        """The attempts of these deliveries (by id), each delivery's in order (exports)."""
        if not delivery_ids:
            return {}
        marks = ", ".join("?" * len(delivery_ids))
        async with self._db.read() as conn:
            async with conn.execute(f"SELECT * FROM attempt WHERE delivery_id IN ({marks}) "
                                    "ORDER BY delivery_id, id", tuple(delivery_ids)) as cur:
                rows = await cur.fetchall()
        found: dict[int, list[AttemptRecord]] = {}
        for row in rows:
            found.setdefault(row["delivery_id"], []).append(_attempt(row))
        return found

    async def _attempts(self, condition: str, value: str, order: str) -> list[AttemptRecord]:
        async with self._db.read() as conn:
            async with conn.execute(
                "SELECT a.* FROM attempt a JOIN delivery d ON d.id = a.delivery_id "
                f"WHERE {condition} ORDER BY {order}", (value,)
            ) as cur:
                return [_attempt(row) for row in await cur.fetchall()]

    async def list(self, query: DeliveryQuery) -> DeliveryPage:
        """Newest first, keyset-paginated on (created_at, id)."""
        filters, args = where(
            ("d.subscription_guid = ?", query.subscription_guid),
            ("d.status = ?", query.status),
            ("d.created_at >= ?", query.created_from),
            ("d.created_at < ?", query.created_to),
            ("(d.created_at, d.id) < (?, ?)", query.cursor),
        )
        sql = _DELIVERY_SELECT + filters + " ORDER BY d.created_at DESC, d.id DESC LIMIT ?"
        async with self._db.read() as conn:
            async with conn.execute(sql, (*args, query.limit + 1)) as cur:
                rows = [_delivery(row) for row in await cur.fetchall()]
        return DeliveryPage(*keyset_page(rows, query.limit, lambda d: (d.created_at, d.id)))

    async def replay(self, webhook_guid: str, at: float) -> DeliveryRecord:
        """Start a new attempt series for the same event and body, due at once."""
        async with self._db.write() as conn:
            cursor = await conn.execute(
                "UPDATE delivery SET status = 'PENDING', series = series + 1, attempts = 0, "
                "next_attempt_at = ?, claimed_until = NULL, updated_at = ? WHERE webhook_guid = ?",
                (at, at, webhook_guid),
            )
            if cursor.rowcount == 0:
                raise NotFound(f"no delivery {webhook_guid}")
        return await self.get(webhook_guid)

    async def release_claims(self) -> int:
        """Forget every lease: at start-up, attempts in flight belonged to a process now dead.

        Only for a database one dispatcher owns (SQLite); on PostgreSQL other dispatchers may
        hold those leases right now, so nothing is released there: leases lapse by themselves.
        """
        if self._db.dialect.row_locks:   # other dispatchers may share the database
            return 0
        async with self._db.write() as conn:
            cursor = await conn.execute(
                "UPDATE delivery SET claimed_until = NULL WHERE claimed_until IS NOT NULL")
            return cursor.rowcount

    async def next_due_at(self) -> float | None:
        """The earliest time anything needs the dispatcher: a due delivery or a pause ending."""
        async with self._db.read() as conn:
            async with conn.execute(
                    _NEXT_DUE.format(due=self._db.dialect.due_or_leased)) as cur:
                row = await cur.fetchone()
        return row[0]

    async def any_pending(self) -> bool:
        """Whether any delivery is still PENDING (a first attempt or a retry to come)."""
        async with self._db.read() as conn:
            async with conn.execute(
                    "SELECT 1 FROM delivery WHERE status = 'PENDING' LIMIT 1") as cur:
                return await cur.fetchone() is not None

    async def status_counts(self, subscription_guid: str | None = None,
                            made_by: float | None = None) -> dict[str, int]:
        """Deliveries by status; ``made_by``: only those of events made by then."""
        conditions, args = [], []
        if subscription_guid is not None:
            conditions.append("subscription_guid = ?")
            args.append(subscription_guid)
        if made_by is not None:
            conditions.append("created_at <= ?")
            args.append(made_by)
        sql = "SELECT status, count(*) FROM delivery"
        if conditions:
            sql += " WHERE " + " AND ".join(conditions)
        async with self._db.read() as conn:
            async with conn.execute(sql + " GROUP BY status", tuple(args)) as cur:
                return {row[0]: row[1] for row in await cur.fetchall()}
