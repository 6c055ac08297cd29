"""Connected restaurants, derived from the partner events in the dispatcher's event table.

A restaurant is connected when its latest partner event is ``partner_added`` or
``partner_updated``; a later ``partner_removed`` disconnects it (latest wins). Nothing is stored
twice: the list is read from the events every time.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage.backends import AnyDatabase

# The restaurant GUID in a partner event's body: the dialect's event_restaurant. Ties on
# created_at (the events of one request) go to the newest row: SQLite's rowid, a column of that
# name on PG.
_LATEST = """
WITH partner AS (
    SELECT {restaurant} AS restaurant, event_type, body, created_at,
           ROW_NUMBER() OVER (PARTITION BY {restaurant}
                              ORDER BY created_at DESC, rowid DESC) AS newest
    FROM event WHERE category = 'partner'
)
SELECT restaurant, event_type, body, created_at FROM partner
WHERE newest = 1 AND event_type != 'partner_removed' AND restaurant IS NOT NULL
"""


@dataclass(frozen=True)
class ConnectedRestaurant:
    guid: str
    details: dict[str, Any]       # the latest partner event's details, as sent
    last_event_type: str
    last_event_at: float          # platform time of that event

    @property
    def connected_at(self) -> float:
        """When the connection was made: the details' createdDate (epoch millis)."""
        created = self.details.get("createdDate")
        return created / 1000 if isinstance(created, (int, float)) else self.last_event_at


class RestaurantStore:
    def __init__(self, db: AnyDatabase) -> None:
        self._db = db

    async def connected(self, text: str | None = None, start: float | None = None,
                        end: float | None = None) -> list[ConnectedRestaurant]:
        """Connected restaurants by name; ``text`` matches name, location, city or GUID
        (ignoring case and accents), ``start``/``end`` bound when the connection was made."""
        async with self._db.read() as conn:
            sql = _LATEST.format(restaurant=self._db.dialect.event_restaurant)
            async with conn.execute(sql) as cur:
                rows = await cur.fetchall()
        found = []
        for restaurant, event_type, body, created_at in rows:
            try:
                details = json.loads(bytes(body)).get("details") or {}
            except ValueError:  # bodies are ours, but a bad row must not break the list
                continue
            record = ConnectedRestaurant(restaurant, details, event_type, created_at)
            if _matches(record, text, start, end):
                found.append(record)
        return sorted(found, key=lambda r: (str(r.details.get("restaurantName", "")), r.guid))


def _matches(record: ConnectedRestaurant, text: str | None, start: float | None,
             end: float | None) -> bool:
    if start is not None and record.connected_at < start:
        return False
    if end is not None and record.connected_at >= end:
        return False
    if not text:
        return True
    fields = ("restaurantName", "locationName", "restaurantCity", "restaurantState")
    haystack = " ".join([record.guid, *(str(record.details.get(f, "")) for f in fields)])
    return _folded(text) in _folded(haystack)


def _folded(text: str) -> str:
    """Case- and accent-insensitive: "cafe ole" finds "Café Olé"."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold())
                   if not unicodedata.combining(c))
