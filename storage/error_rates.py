"""Failed delivery attempts per minute for one subscription (the back-off chart's data)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage.backends import AnyDatabase

# An error is any attempt without a 2xx answer, as the back-off counts it. The cost must follow
# the window, not the subscription's history: the attempts are read through attempt_by_start
# and each is matched to its delivery by key. CROSS JOIN makes SQLite keep that order (its
# planner would rather walk every delivery of the subscription); PostgreSQL plans it freely.
_PER_MINUTE = """
SELECT {minute} AS minute, count(*) AS errors
FROM attempt a CROSS JOIN delivery d
WHERE d.id = a.delivery_id AND d.subscription_guid = ?
  AND a.started_at >= ? AND a.started_at < ?
  AND NOT (a.outcome = 'http' AND a.status_code BETWEEN 200 AND 299)
GROUP BY minute ORDER BY minute
"""


async def errors_per_minute(db: AnyDatabase, subscription_guid: str, start: float,
                            end: float) -> dict[int, int]:
    """{minute number since the epoch: failed attempts} for attempts in [start, end)."""
    async with db.read() as conn:
        sql = _PER_MINUTE.format(minute=db.dialect.attempt_minute)   # rounded down
        async with conn.execute(sql, (subscription_guid, start, end)) as cur:
            return {int(minute): int(errors) for minute, errors in await cur.fetchall()}


_ATTEMPTS = """
SELECT count(*) AS attempts,
       coalesce(sum(CASE WHEN a.outcome = 'http' AND a.status_code BETWEEN 200 AND 299
                         THEN 0 ELSE 1 END), 0) AS failed
FROM attempt a WHERE a.started_at >= ? AND a.started_at < ?
"""


async def attempts_between(db: AnyDatabase, start: float, end: float) -> tuple[int, int]:
    """(delivery attempts, failed ones) of every subscription started in [start, end)."""
    async with db.read() as conn:
        async with conn.execute(_ATTEMPTS, (start, end)) as cur:
            attempts, failed = await cur.fetchone()
    return int(attempts), int(failed)
