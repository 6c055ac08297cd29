"""The event log's costs do not grow with what is stored: a status filter reads only matching
rows (an index), and deleting a subscription looks only at its own events."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from dispatcher.backoff import PRESETS
from dispatcher.clock import FakeClock
from dispatcher.service import DispatcherService
from dispatcher.settings import DispatcherSettings
from storage.backends import open_storage
from storage.deliveries import DeliveryQuery
from storage.dialect import SQLITE
from storage.error_rates import _PER_MINUTE
from storage.settings import StorageSettings


@pytest.fixture
async def service(storage_settings: StorageSettings):
    db = await open_storage(replace(storage_settings, synchronous="normal"))
    try:
        yield DispatcherService(db, FakeClock(), DispatcherSettings(), PRESETS["current"])
    finally:
        await db.close()


async def subscribe(service: DispatcherService, category: str) -> str:
    return (await service.create_subscription(
        event_category=category, url="http://127.0.0.1:9/hook",
        notification_email="ops@example.com")).guid


async def test_deleting_a_subscription_removes_its_own_events_and_keeps_shared_ones(
        service: DispatcherService) -> None:
    doomed, sibling = await subscribe(service, "stock"), await subscribe(service, "stock")
    shared = await service.send_events(category="stock", count=3)       # both subscriptions
    await service.delete_subscription(sibling)
    own = await service.send_events(category="stock", count=2)          # the doomed one only
    other = await subscribe(service, "menus")
    unrelated = await service.send_events(category="menus", count=2)
    await service.delete_subscription(doomed)

    async with service.deliveries._db.read() as conn:   # what is left in the event table
        async with conn.execute("SELECT guid FROM event") as cur:
            left = {row[0] for row in await cur.fetchall()}
    assert left == {e.guid for e in unrelated}
    assert not left & {e.guid for e in shared + own}
    page = await service.deliveries.list(DeliveryQuery(subscription_guid=other, limit=10))
    assert len(page.items) == 2


def migrated_sqlite(tmp_path: Path) -> sqlite3.Connection:
    """A new database with every migration applied, opened with plain sqlite3 for EXPLAIN."""
    async def make() -> None:
        db = await open_storage(StorageSettings(path=str(tmp_path / "d.db")))
        await db.close()

    asyncio.run(make())
    return sqlite3.connect(tmp_path / "d.db")


def test_a_status_filter_reads_the_status_index(tmp_path: Path) -> None:
    conn = migrated_sqlite(tmp_path)
    plan = " ".join(row[-1] for row in conn.execute(
        "EXPLAIN QUERY PLAN SELECT id FROM delivery d WHERE d.subscription_guid = ? "
        "AND d.status = ? ORDER BY d.created_at DESC, d.id DESC LIMIT 51", ("s", "NOT_SENT")))
    assert "delivery_by_subscription_status" in plan, plan
    assert "TEMP B-TREE" not in plan, plan   # read in order: no sort of every match


def test_the_backoff_chart_reads_only_the_attempts_of_its_window(tmp_path: Path) -> None:
    conn = migrated_sqlite(tmp_path)
    plan = [row[-1] for row in conn.execute(
        "EXPLAIN QUERY PLAN " + _PER_MINUTE.format(minute=SQLITE.attempt_minute), ("s", 0.0, 60.0))]
    # The window's attempts first (a range of attempt_by_start), then each one's delivery by key:
    # not every delivery the subscription ever had.
    assert "attempt_by_start" in plan[0], plan
    assert "INTEGER PRIMARY KEY" in plan[1], plan
