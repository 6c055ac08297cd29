"""Reading the platform's state back out of the dispatcher's event table (the fallback APIs).

Every event the platform made is stored once with the exact body it sent or would have sent,
whatever became of its deliveries (Not sent included). The fallback APIs read their answers
from these bodies, so what an API shows is what a webhook announced: nothing is stored twice.
Times are platform epoch seconds; an event made ahead of time (a snooze's end) is not state
until its moment has come, so every read takes ``now``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage.backends import AnyDatabase

# Where an orders or stock event's body keeps what the APIs filter on (storage.dialect.body_text).
_ORDER_GUID = ("details", "order", "guid")
_ORDER_MODIFIED = ("details", "order", "modifiedDate")
_ORDER_BUSINESS_DATE = ("details", "order", "businessDate")
_ITEM_GUID = ("details", "itemGuid")

# How far an order's modifiedDate may run ahead of its event's platform time: a burst of changes
# in one millisecond moves it on 1 ms each. Reads by modified time look back this much further.
ORDER_DRIFT_SECONDS = 300.0


@dataclass(frozen=True)
class OrderHead:
    """The newest event of one order: enough to filter and page without reading bodies."""

    event_guid: str
    order_guid: str
    modified_date: str  # the order's modifiedDate text, 2024-04-01T15:09:30.223+0000
    business_date: int | None = None   # yyyyMMdd


@dataclass(frozen=True)
class StoredEvent:
    guid: str
    event_type: str
    body: bytes
    created_at: float


class EventLog:
    def __init__(self, db: AnyDatabase) -> None:
        self._db = db

    async def latest_order(self, restaurant_guid: str, order_guid: str, now: float) -> bytes | None:
        """The body of the newest event about one order of one restaurant, or None."""
        sql = (f"SELECT body FROM event WHERE category = 'orders' AND restaurant_guid = ? "
               f"AND created_at <= ? AND {self._db.dialect.body_text(*_ORDER_GUID)} = ? "
               "ORDER BY created_at DESC, rowid DESC LIMIT 1")
        async with self._db.read() as conn, conn.execute(
                sql, (restaurant_guid, now, order_guid)) as cur:
            row = await cur.fetchone()
        return bytes(row["body"]) if row else None

    async def order_heads(self, restaurant_guid: str, since: float, now: float) -> list[OrderHead]:
        """The newest event of every order of a restaurant changed from ``since`` on (allowing
        :data:`ORDER_DRIFT_SECONDS`), up to ``now``."""
        text = self._db.dialect.body_text
        sql = f"""
        WITH heads AS (
            SELECT guid, {text(*_ORDER_GUID)} AS order_guid, {text(*_ORDER_MODIFIED)} AS modified,
                   {text(*_ORDER_BUSINESS_DATE)} AS business_date,
                   ROW_NUMBER() OVER (PARTITION BY {text(*_ORDER_GUID)}
                                      ORDER BY created_at DESC, rowid DESC) AS newest
            FROM event WHERE category = 'orders' AND restaurant_guid = ?
                         AND created_at >= ? AND created_at <= ?
        )
        SELECT guid, order_guid, modified, business_date FROM heads
        WHERE newest = 1 AND order_guid IS NOT NULL
        """
        async with self._db.read() as conn, conn.execute(
                sql, (restaurant_guid, since - ORDER_DRIFT_SECONDS, now)) as cur:
            rows = await cur.fetchall()
        return [OrderHead(r["guid"], r["order_guid"], r["modified"] or "", _integer(r["business_date"]))
                for r in rows]

    async def bodies(self, event_guids: Sequence[str]) -> dict[str, bytes]:
        if not event_guids:
            return {}
        marks = ", ".join("?" * len(event_guids))
        async with self._db.read() as conn, conn.execute(
                f"SELECT guid, body FROM event WHERE guid IN ({marks})", tuple(event_guids)) as cur:
            rows = await cur.fetchall()
        return {r["guid"]: bytes(r["body"]) for r in rows}

    async def latest(self, category: str, restaurant_guid: str, now: float,
                     event_types: Sequence[str] = ()) -> StoredEvent | None:
        """The newest event of ``category`` (of one of ``event_types``, if given) about a restaurant."""
        types = f" AND event_type IN ({', '.join('?' * len(event_types))})" if event_types else ""
        async with self._db.read() as conn, conn.execute(
                "SELECT guid, event_type, body, created_at FROM event WHERE category = ? "
                f"AND restaurant_guid = ? AND created_at <= ?{types} "
                "ORDER BY created_at DESC, rowid DESC LIMIT 1",
                (category, restaurant_guid, now, *event_types)) as cur:
            row = await cur.fetchone()
        return _stored(row) if row else None

    async def names_restaurant(self, restaurant_guid: str, now: float) -> bool:
        """Whether any event so far was about this restaurant (its Toast-Restaurant-External-ID)."""
        async with self._db.read() as conn, conn.execute(
                "SELECT 1 FROM event WHERE restaurant_guid = ? AND created_at <= ? LIMIT 1",
                (restaurant_guid, now)) as cur:
            return await cur.fetchone() is not None

    async def latest_partner(self, restaurant_guid: str, now: float) -> StoredEvent | None:
        """The newest partner event naming a restaurant."""
        async with self._db.read() as conn, conn.execute(
                "SELECT guid, event_type, body, created_at FROM event WHERE category = 'partner' "
                f"AND {self._db.dialect.event_restaurant} = ? AND created_at <= ? "
                "ORDER BY created_at DESC, rowid DESC LIMIT 1", (restaurant_guid, now)) as cur:
            row = await cur.fetchone()
        return _stored(row) if row else None

    async def latest_partners(self, now: float) -> list[StoredEvent]:
        """The newest partner event of every restaurant any partner event names."""
        restaurant = self._db.dialect.event_restaurant
        sql = f"""
        WITH partner AS (
            SELECT guid, event_type, body, created_at, {restaurant} AS restaurant,
                   ROW_NUMBER() OVER (PARTITION BY {restaurant} ORDER BY created_at DESC, rowid DESC) AS newest
            FROM event WHERE category = 'partner' AND created_at <= ?
        )
        SELECT guid, event_type, body, created_at FROM partner WHERE newest = 1 AND restaurant IS NOT NULL
        """
        async with self._db.read() as conn, conn.execute(sql, (now,)) as cur:
            rows = await cur.fetchall()
        return [_stored(r) for r in rows]

    async def latest_per_item(self, restaurant_guid: str, now: float) -> list[StoredEvent]:
        """The newest stock event of every item of a restaurant."""
        item = self._db.dialect.body_text(*_ITEM_GUID)
        sql = f"""
        WITH items AS (
            SELECT guid, event_type, body, created_at,
                   ROW_NUMBER() OVER (PARTITION BY {item} ORDER BY created_at DESC, rowid DESC) AS newest
            FROM event WHERE category = 'stock' AND restaurant_guid = ? AND created_at <= ?
        )
        SELECT guid, event_type, body, created_at FROM items WHERE newest = 1
        """
        async with self._db.read() as conn, conn.execute(sql, (restaurant_guid, now)) as cur:
            rows = await cur.fetchall()
        return [_stored(r) for r in rows]


def _integer(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def _stored(row: object) -> StoredEvent:
    return StoredEvent(row["guid"], row["event_type"], bytes(row["body"]),  # type: ignore[index]
                       row["created_at"])  # type: ignore[index]

