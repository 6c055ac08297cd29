"""Subscriptions' back-off state on each backend: stored one way, and kept across the migration
from the JSON copy (dispatch schema version 4) to the columns (version 5)."""

from __future__ import annotations

import json

from dispatcher.backoff import BackoffState, SubscriptionStatus
from storage import Schema
from storage.backends import open_storage
from storage.deliveries import DeliveryStore
from storage.dispatch_schema import DISPATCH_SCHEMA
from storage.settings import StorageSettings
from storage.subscriptions import SubscriptionRecord, SubscriptionStore

ACTIVE, PAUSED, STOPPED = SubscriptionStatus.ACTIVE, SubscriptionStatus.PAUSED, SubscriptionStatus.STOPPED

# One subscription per status, each with errors and pauses in its windows (out of order, as
# concurrent attempts finish).
STATES = {
    "a-active": BackoffState(ACTIVE, (10.5, 11.0), (3.0,)),
    "b-paused": BackoffState(PAUSED, (20.0, 20.25, 21.0), (5.0, 20.0), 80.0),
    "c-stopped": BackoffState(STOPPED, (30.0,), (1.0, 15.0, 30.0)),
}


def record(guid: str, state: BackoffState) -> SubscriptionRecord:
    return SubscriptionRecord(
        guid=guid, name=guid, event_category="menus", url="http://127.0.0.1:9/hook",
        notification_email="owner@example.com", secret="s", status=state.status.value,
        error_times=state.error_times, pause_times=state.pause_times,
        paused_until=state.paused_until, created_at=1.0, modified_at=2.0)


async def test_a_version_4_database_keeps_each_back_off_state(
        storage_settings: StorageSettings) -> None:
    version_4 = Schema("dispatcher", DISPATCH_SCHEMA.migrations[:4],
                       DISPATCH_SCHEMA.postgresql[:4] if DISPATCH_SCHEMA.postgresql else None)
    db = await open_storage(storage_settings, [version_4])
    async with db.write() as conn:
        for guid, state in STATES.items():
            # As version 4 wrote it: the whole state as JSON, status and paused_until beside it.
            backoff = {"status": state.status.value, "error_times": list(reversed(state.error_times)),
                       "pause_times": list(state.pause_times), "paused_until": state.paused_until}
            await conn.execute(
                "INSERT INTO subscription (guid, name, event_category, url, notification_email, "
                "secret, status, backoff, paused_until, created_at, modified_at) "
                "VALUES (?, ?, 'menus', 'http://127.0.0.1:9/hook', 'owner@example.com', 's', ?, "
                "?, ?, 1.0, 2.0)",
                (guid, guid, state.status.value, json.dumps(backoff), state.paused_until))
    await db.close()

    db = await open_storage(storage_settings, [DISPATCH_SCHEMA])
    try:
        records = await SubscriptionStore(db).list()
        assert {r.guid: BackoffState.of(r) for r in records} == STATES
        assert {r.guid: (r.status, r.paused_until) for r in records} == {
            "a-active": ("ACTIVE", None), "b-paused": ("PAUSED", 80.0), "c-stopped": ("STOPPED", None)}
        async with db.read() as conn:   # the JSON copy is gone: one representation left
            async with conn.execute("SELECT * FROM subscription") as cur:
                assert all("backoff" not in row.keys() for row in await cur.fetchall())
    finally:
        await db.close()


async def test_a_saved_state_reads_back_the_same(storage_settings: StorageSettings) -> None:
    db = await open_storage(storage_settings, [DISPATCH_SCHEMA])
    try:
        subscriptions = SubscriptionStore(db)
        await subscriptions.add(record("s", BackoffState()))
        for state in STATES.values():
            await DeliveryStore(db).batch(lambda batch, state=state: batch.save_backoff("s", state, 99.0))
            stored = await subscriptions.get("s")
            assert BackoffState.of(stored) == state
            assert (stored.status, stored.paused_until, stored.modified_at) == (
                state.status.value, state.paused_until, 99.0)
    finally:
        await db.close()
