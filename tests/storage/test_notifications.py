"""The notification log / outbox on each backend."""

from __future__ import annotations

from dataclasses import replace

import pytest

from storage import Conflict, Database, NotFound
from storage.notifications import (
    Notification,
    NotificationKind,
    NotificationStatus,
    NotificationStore,
    insert_notification,
)
from tests.notifications import AT, Subscription, paused

@pytest.fixture
def store(db: Database) -> NotificationStore:
    return NotificationStore(db)


PENDING, SENT, FAILED = NotificationStatus.PENDING, NotificationStatus.SENT, NotificationStatus.FAILED


async def test_inserted_in_a_rolled_back_transaction_leaves_nothing(
    db: Database, store: NotificationStore
) -> None:
    with pytest.raises(RuntimeError):
        async with db.write() as conn:
            await insert_notification(conn, paused())
            raise RuntimeError("the transition's own write failed")
    assert (await store.list()).items == ()
    assert await store.pending() == ()


async def test_inserted_in_the_callers_transaction_commits_with_it(
    db: Database, store: NotificationStore
) -> None:
    async with db.write() as conn:
        id_ = await insert_notification(conn, paused())
        assert await store.pending() == ()  # not visible before the caller commits
    (notification,) = await store.pending()
    assert notification.id == id_
    assert (notification.status, notification.attempts, notification.last_error) == (PENDING, 0, None)
    assert notification.kind is NotificationKind.PAUSED
    assert notification.created_at == AT


async def test_an_automatic_resume_is_not_a_notification_kind() -> None:
    with pytest.raises(ValueError):
        replace(paused(), kind="RESUMED")  # type: ignore[arg-type]


async def test_pending_is_oldest_first_and_pages_by_id(store: NotificationStore) -> None:
    ids = [(await store.add(paused(at=AT + i))).id for i in range(3)]
    await store.mark_sent(ids[1], AT + 10)
    assert [n.id for n in await store.pending()] == [ids[0], ids[2]]
    assert [n.id for n in await store.pending(1, after=ids[0])] == [ids[2]]


async def test_sent_records_when(store: NotificationStore) -> None:
    notification = await store.add(paused())
    sent = await store.mark_sent(notification.id, AT + 1)
    assert (sent.status, sent.sent_at, sent.attempts, sent.last_attempt_at) == (SENT, AT + 1, 1, AT + 1)
    assert await store.get(notification.id) == sent


async def test_failures_stay_retryable_until_given_up(store: NotificationStore) -> None:
    notification = await store.add(paused())
    for attempt in (1, 2):
        failed = await store.mark_failed(notification.id, AT + attempt, f"down {attempt}")
        assert (failed.status, failed.attempts, failed.last_error) == (PENDING, attempt, f"down {attempt}")
    failed = await store.mark_failed(notification.id, AT + 3, "down 3", give_up=True)
    assert (failed.status, failed.attempts, failed.last_attempt_at) == (FAILED, 3, AT + 3)
    assert await store.pending() == ()


async def test_a_failure_given_up_at_once_is_final(store: NotificationStore) -> None:
    notification = await store.add(paused())
    failed = await store.mark_failed(notification.id, AT, "550 no such mailbox", give_up=True)
    assert (failed.status, failed.attempts) == (FAILED, 1)


@pytest.mark.parametrize(("failures", "permanent", "most", "given_up"), [
    (1, False, 3, False), (2, False, 3, False), (3, False, 3, True), (4, False, 3, True),
    (1, True, 3, True), (1, False, 1, True),
])
def test_the_give_up_rule(failures: int, permanent: bool, most: int, given_up: bool) -> None:
    """The dispatcher's rule, pure: a permanent refusal, or max_attempts failed sends."""
    from dispatcher.notifications import gives_up

    assert gives_up(failures, permanent, most) is given_up


async def test_disabled_is_kept_but_no_longer_pending(store: NotificationStore) -> None:
    notification = await store.add(paused())
    disabled = await store.mark_disabled(notification.id)
    assert disabled.status is NotificationStatus.DISABLED
    assert await store.pending() == ()
    assert (await store.list()).items == (disabled,)


async def test_settled_or_missing_notifications_cannot_be_marked(store: NotificationStore) -> None:
    notification = await store.add(paused())
    await store.mark_sent(notification.id, AT)
    with pytest.raises(Conflict, match="already SENT"):
        await store.mark_failed(notification.id, AT, "late")
    with pytest.raises(NotFound):
        await store.mark_sent(notification.id + 1, AT)


async def test_list_is_newest_first_with_filters(store: NotificationStore) -> None:
    other = Subscription(guid="other-guid", name="Menus", event_category="menus")
    first = await store.add(paused(at=AT))
    second = await store.add(paused(other, at=AT + 10))
    third = await store.add(replace(paused(at=AT + 20), kind=NotificationKind.STOPPED))

    assert (await store.list()).items == (third, second, first)
    assert (await store.list(kind="STOPPED")).items == (third,)
    assert (await store.list(subscription_guid="other-guid")).items == (second,)
    assert (await store.list(from_=AT + 10)).items == (third, second)  # from is inclusive
    assert (await store.list(to=AT + 20)).items == (second, first)  # to is exclusive
    assert (await store.list(kind="PAUSED", subscription_guid=Subscription.guid)).items == (first,)


async def test_cursor_pagination_visits_each_once_even_on_equal_times(store: NotificationStore) -> None:
    added = [await store.add(paused(at=AT + i // 2)) for i in range(5)]  # pairs share created_at
    seen: list[Notification] = []
    cursor = None
    while True:
        page = await store.list(limit=2, cursor=cursor)
        seen += page.items
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert [n.id for n in seen] == [n.id for n in sorted(added, key=lambda n: (-n.created_at, -n.id))]
    assert len(seen) == 5


async def test_claims_lease_disjoint_batches_until_settled_or_expired(
    store: NotificationStore,
) -> None:
    ids = [(await store.add(paused(at=AT + n))).id for n in range(4)]
    first = await store.claim(2, now=AT, lease_until=AT + 60)
    assert [n.id for n in first] == ids[:2] and {n.claimed_until for n in first} == {AT + 60}
    second = await store.claim(10, now=AT + 1, lease_until=AT + 61)
    assert [n.id for n in second] == ids[2:]          # what another sender holds is skipped
    assert await store.claim(10, now=AT + 2, lease_until=AT + 62) == ()
    await store.mark_sent(ids[0], AT + 3)               # settled: gone for good
    await store.mark_failed(ids[2], AT + 3, "451 try later")   # retried: lease ended at once
    assert [n.id for n in await store.claim(10, now=AT + 4, lease_until=AT + 64)] == [ids[2]]
    # A sender that died: its lease on ids[1] runs out, and another takes it.
    assert [n.id for n in await store.claim(10, now=AT + 61, lease_until=AT + 121)] == [ids[1]]
    assert [n.id for n in await store.claim(10, now=AT + 65, lease_until=AT + 125,
                                            after=ids[1])] == [ids[2], ids[3]]


async def test_an_empty_outbox_is_claimed_without_a_write(tmp_path) -> None:
    # Senders poll every round: with nothing to send they must not take the write lock (on
    # SQLite another writer holding it would make every idle round fail, and cost an fsync).
    import sqlite3

    from storage import open_database

    db = await open_database(tmp_path / "outbox.db")
    store = NotificationStore(db)
    other = sqlite3.connect(tmp_path / "outbox.db", timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")   # another process is writing
        assert await store.claim(10, now=AT, lease_until=AT + 60) == ()
        other.execute("ROLLBACK")
        await store.add(paused())
        assert len(await store.claim(10, now=AT, lease_until=AT + 60)) == 1
    finally:
        other.close()
        await db.close()
