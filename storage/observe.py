"""Read-only questions an operator's tools ask of the database: how deep the outboxes are, how
many subscriptions are in each status (metrics, at scrape time), and whether the schemas are
current (readiness). Cheap: counts on indexed columns, one round trip each."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from storage.schema import Schema

if TYPE_CHECKING:
    from storage.backends import AnyDatabase


@dataclass(frozen=True)
class Depths:
    subscriptions: dict[str, int] = field(default_factory=dict)   # status -> count
    deliveries_pending: int = 0     # PENDING: not yet delivered, failed or suppressed
    deliveries_due: int = 0         # of those, due now (next attempt at or before ``now``)
    notifications: dict[str, int] = field(default_factory=dict)   # status -> count


async def read_depths(db: AnyDatabase, now: float, *, dispatch: bool = True,
                      notifications: bool = True) -> Depths:
    """What the dispatcher's tables (``dispatch``) and the notification outbox
    (``notifications``) hold now; a role without those tables asks for neither."""
    subscriptions: dict[str, int] = {}
    pending = due = 0
    emails: dict[str, int] = {}
    async with db.read() as conn:
        if dispatch:
            rows = await (await conn.execute(
                "SELECT status, count(*) AS n FROM subscription GROUP BY status")).fetchall()
            subscriptions = {row["status"]: row["n"] for row in rows}
            row = await (await conn.execute(
                "SELECT count(*) AS pending, "
                "coalesce(sum(CASE WHEN next_attempt_at <= ? THEN 1 ELSE 0 END), 0) AS due "
                "FROM delivery WHERE status = 'PENDING'", (now,))).fetchone()
            pending, due = int(row["pending"]), int(row["due"])
        if notifications:
            rows = await (await conn.execute(
                "SELECT status, count(*) AS n FROM notification GROUP BY status")).fetchall()
            emails = {row["status"]: row["n"] for row in rows}
    return Depths(subscriptions, pending, due, emails)


async def stale_schemas(db: AnyDatabase, schemas: Iterable[Schema]) -> list[str]:
    """The components whose tables are not at the version this hooksim expects, e.g.
    ``["receiver: version 3, expected 4"]``; empty when every one is current."""
    async with db.read() as conn:
        rows = await (await conn.execute(
            "SELECT component, version FROM schema_version")).fetchall()
    found = {row["component"]: row["version"] for row in rows}
    return [f"{schema.component}: version {found.get(schema.component, 0)}, "
            f"expected {schema.version}"
            for schema in schemas if found.get(schema.component, 0) != schema.version]
