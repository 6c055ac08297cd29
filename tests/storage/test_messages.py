"""MessageStore on each backend: batches, duplicates, filters, keyset pages, pruning."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from storage import NotFound, Schema, messages
from storage.backends import open_storage
from storage.messages import (
    RECEIVER_SCHEMA,
    Cursor,
    ForwardResult,
    MessageQuery,
    MessageStore,
    NewMessage,
)
from storage.settings import StorageSettings
from tests.backends import connect

BASE = NewMessage(
    endpoint="orders", received_at=1_700_000_000.0, remote="127.0.0.1", method="POST",
    path="/hooks/orders", headers=(("Content-Type", "application/json"), ("X-Dup", "1"),
                                   ("X-Dup", "2")),
    body=b'{"a":1}', body_size=7, event_guid="g1", category="menus", event_type="menus_updated",
    restaurant_guid="r1", verified=True, reason=None, detail=None, accepted=True, status=200,
    fault=None, forward_to=None)


def msg(n: int, **changes: object) -> NewMessage:
    return replace(BASE, received_at=BASE.received_at + n, event_guid=f"g{n}", **changes)


@pytest.fixture
async def store(storage_settings: StorageSettings) -> AsyncIterator[MessageStore]:
    db = await open_storage(storage_settings, [RECEIVER_SCHEMA])
    yield MessageStore(db)
    await db.close()


async def test_batch_counts_duplicates_within_itself_and_keeps_bytes(store: MessageStore) -> None:
    body = bytes(range(256)) * 3  # not UTF-8: stored and returned as the same bytes
    stored = await store.add_many([
        replace(BASE, body=body), replace(BASE, received_at=BASE.received_at + 1),
        replace(BASE, accepted=False, status=401),  # rejected: counted as dup, not counting later
        replace(BASE, received_at=BASE.received_at + 2), replace(BASE, endpoint="other")])
    assert [s.duplicate_count for s in stored] == [0, 1, 2, 2, 0]
    again = await store.get(stored[0].id)
    assert again.body == body
    assert again.headers == BASE.headers
    assert again == stored[0]


async def test_get_unknown_is_not_found(store: MessageStore) -> None:
    with pytest.raises(NotFound):
        await store.get(42)


async def test_pages_go_newest_first_without_gaps_or_repeats(store: MessageStore) -> None:
    # Ties on received_at are broken by id, so no message falls between pages.
    await store.add_many([msg(n // 2) for n in range(25)])
    seen, cursor = [], None
    while True:
        page = await store.find(MessageQuery(limit=7, cursor=cursor))
        seen += [m.id for m in page.messages]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == list(range(25, 0, -1))


async def test_filters(store: MessageStore) -> None:
    await store.add_many([
        msg(1), msg(2, endpoint="b", category="stock", event_type="in_stock"),
        msg(3, verified=False, accepted=False, status=401, reason="signature_mismatch"),
        msg(4, verified=None, body=b'{"note":"50% Off_Sale"}'), replace(msg(5), event_guid="g1")])

    async def ids(**query: object) -> list[int]:
        return [m.id for m in (await store.find(MessageQuery(**query))).messages]

    assert await ids(endpoint="b") == [2]
    assert await ids(category="stock", event_type="in_stock") == [2]
    assert await ids(verified="yes") == [5, 2, 1]
    assert await ids(verified="no") == [3]
    assert await ids(verified="unchecked") == [4]
    assert await ids(duplicate=True) == [5]
    assert await ids(duplicate=False) == [4, 3, 2, 1]
    assert await ids(since=BASE.received_at + 2, until=BASE.received_at + 4) == [3, 2]
    assert await ids(text="50% off_") == [4]  # LIKE wildcards are literal; ASCII case folded
    assert await ids(text="100%") == []
    assert await ids(cursor=Cursor(BASE.received_at + 3, 3)) == [2, 1]


async def test_export_reads_everything_in_batches(store: MessageStore) -> None:
    await store.add_many([msg(n) for n in range(11)])
    exported = [m async for m in store.export(MessageQuery(endpoint="orders"), batch=4)]
    assert [m.event_guid for m in exported] == [f"g{n}" for n in range(10, -1, -1)]
    assert exported[0].body == BASE.body


async def test_delete_by_endpoint_and_all(store: MessageStore) -> None:
    await store.add_many([msg(1), msg(2, endpoint="b"), msg(3)])
    assert await store.delete("orders") == 2
    assert await store.delete() == 1
    assert (await store.find(MessageQuery())).messages == ()


async def test_forward_result_is_stored_beside_the_message(store: MessageStore) -> None:
    [stored] = await store.add_many([replace(BASE, forward_to="http://app/")])
    await store.set_forward_result(stored.id, ForwardResult(202, None, 5.0))
    again = await store.get(stored.id)
    assert (again.forward_to, again.forward_status, again.forward_error, again.forwarded_at) == (
        "http://app/", 202, None, 5.0)


async def test_prune_by_count_and_age(store: MessageStore) -> None:
    await store.add_many([msg(n) for n in range(10)])
    assert await store.prune(max_messages=6) == 4
    assert await store.prune(older_than=BASE.received_at + 6) == 2
    remaining = (await store.find(MessageQuery())).messages
    assert [m.event_guid for m in remaining] == ["g9", "g8", "g7", "g6"]
    assert await store.prune() == 0


async def test_headers_that_are_not_valid_unicode_are_kept(store: MessageStore) -> None:
    # aiohttp hands over undecodable header bytes as lone surrogates; orjson refuses those, so
    # the store falls back to the standard library's escaping rather than lose the message.
    odd = (("X-Raw", "caf\udce9"), ("X-Text", "Olé"))
    [stored] = await store.add_many([replace(BASE, headers=odd)])
    assert (await store.get(stored.id)).headers == odd
    assert stored.headers == odd and stored.body == BASE.body


async def test_returned_record_matches_what_a_read_gives(store: MessageStore) -> None:
    # add_many builds its results positionally: a field order slip would show here.
    first, second = await store.add_many([msg(1, fault="status 500", detail="d", reason="r",
                                              verified=None, forward_to="http://app/"), msg(2)])
    assert await store.get(first.id) == first
    assert await store.get(second.id) == second


async def test_duplicates_are_numbered_across_restarts(storage_settings: StorageSettings) -> None:
    # The count continues from the newest stored arrival, whatever process stored it.
    counts = []
    for batch in ([BASE, replace(BASE, accepted=False, status=401)], [BASE], [BASE, BASE]):
        db = await open_storage(storage_settings, [RECEIVER_SCHEMA])
        counts += [m.duplicate_count for m in await MessageStore(db).add_many(batch)]
        await db.close()
    assert counts == [0, 1, 1, 2, 3]


async def test_a_version_1_database_keeps_its_numbering_and_count(
        storage_settings: StorageSettings) -> None:
    # Messages numbered by the released schema (counting), then the migration to the lookup.
    version_1 = Schema("receiver", RECEIVER_SCHEMA.migrations[:1],
                       RECEIVER_SCHEMA.postgresql[:1] if RECEIVER_SCHEMA.postgresql else None)
    db = await open_storage(storage_settings, [version_1])
    async with db.write() as conn:
        for n, accepted in enumerate((1, 1, 0, 1)):
            await conn.execute(
                "INSERT INTO receiver_message (endpoint, received_at, method, path, headers, "
                "body, body_size, event_guid, accepted, duplicate_count) "
                "VALUES ('orders', ?, 'POST', '/hooks/orders', '[]', ?, 0, 'g1', ?, ?)",
                (BASE.received_at + n, b"", accepted, min(n, 2)))
    await db.close()
    db = await open_storage(storage_settings, [RECEIVER_SCHEMA])
    store = MessageStore(db)
    assert await store.stored() == 4
    [again] = await store.add_many([BASE])
    assert again.duplicate_count == 3
    assert await store.stored() == 5
    await db.close()


async def test_concurrent_arrivals_from_two_processes_get_distinct_numbers(
        storage_settings: StorageSettings) -> None:
    # Two receivers on one database (two handles, as two processes have), the same event
    # arriving at both at once, in batches: every accepted arrival gets its own number.
    dbs = [await open_storage(storage_settings, [RECEIVER_SCHEMA]) for _ in range(2)]
    stores = [MessageStore(db) for db in dbs]
    try:
        results = await asyncio.gather(*(
            stores[n % 2].add_many([BASE, msg(100 + n), BASE]) for n in range(20)))
    finally:
        for db in dbs:
            await db.close()
    counts = sorted(m.duplicate_count for batch in results for m in batch if m.event_guid == "g1")
    assert counts == list(range(40))


async def test_row_filters_read_a_bounded_window_per_page(
        store: MessageStore, monkeypatch: pytest.MonkeyPatch) -> None:
    # Filters no index serves look at SCAN_LIMIT messages per page at most: a rare match is
    # reached by following cursors, possibly through empty pages, and none is skipped.
    monkeypatch.setattr(messages, "SCAN_LIMIT", 4)
    await store.add_many([msg(n, category="stock" if n in (1, 2, 9) else "menus")
                          for n in range(12)])
    pages, cursor = [], None
    while True:
        page = await store.find(MessageQuery(category="stock", limit=2, cursor=cursor))
        pages.append([m.event_guid for m in page.messages])
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == [["g9"], [], ["g2", "g1"], []]
    exported = [m.event_guid async for m in store.export(MessageQuery(category="stock"), batch=2)]
    assert exported == ["g9", "g2", "g1"]
    # Without such a filter a page is always full.
    assert len((await store.find(MessageQuery(limit=10))).messages) == 10


async def test_prune_goes_in_steps_and_keeps_the_count(
        store: MessageStore, monkeypatch: pytest.MonkeyPatch,
        storage_settings: StorageSettings) -> None:
    monkeypatch.setattr(messages, "DELETE_STEP", 3)
    await store.add_many([msg(n) for n in range(20)])
    await store.add_many([msg(20, endpoint="b")])
    assert await store.stored() == 21
    assert await store.prune(older_than=BASE.received_at + 4) == 4
    assert await store.prune(max_messages=10) == 7
    await store.add_many([msg(30 + n, endpoint="c") for n in range(8)])
    assert await store.delete("b") == 1
    assert await store.delete("c") == 8
    assert await store.prune(max_messages=5, older_than=BASE.received_at + 12) == 4
    remaining = [m.event_guid for m in (await store.find(MessageQuery())).messages]
    assert remaining == ["g19", "g18", "g17", "g16", "g15"]
    assert await store.stored() == 5
    with connect(storage_settings) as conn:
        assert conn.execute("SELECT count(*) FROM receiver_message").fetchone()[0] == 5


def test_records_built_directly_behave_as_frozen_dataclasses() -> None:
    positional = NewMessage(*(getattr(BASE, f.name) for f in dataclasses.fields(NewMessage)))
    assert positional == BASE and hash(positional) == hash(BASE) and positional is not BASE
    assert dataclasses.asdict(positional) == dataclasses.asdict(BASE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        BASE.endpoint = "other"   # type: ignore[misc]
    with pytest.raises(TypeError):
        NewMessage(endpoint="orders")   # type: ignore[call-arg]
    assert replace(BASE, status=500).status == 500 and BASE.status == 200

