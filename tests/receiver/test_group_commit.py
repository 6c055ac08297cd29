"""Group commit under concurrency: N parallel posts, N rows, each acknowledged only once durable."""

from __future__ import annotations

import asyncio
import sqlite3

from tests.receiver.conftest import Harness, MakeReceiver, envelope, signed

N = 60


async def post_and_look(h: Harness, body: bytes, reader: sqlite3.Connection) -> tuple[int, bool]:
    """Post, and the moment the answer arrives look for the row from another connection: it
    only sees committed transactions, so a row there means the 2xx followed the commit."""
    status, answer = await h.post("orders", body, signed(body))
    row = reader.execute("SELECT 1 FROM receiver_message WHERE id = ?", (answer["id"],)).fetchone()
    return status, row is not None


async def test_parallel_posts_are_batched_and_each_ack_follows_its_commit(
        make_receiver: MakeReceiver) -> None:
    h = await make_receiver()
    reader = sqlite3.connect(h.db_path)
    try:
        bodies = [envelope(guid=f"g{i}") for i in range(N)]
        results = await asyncio.gather(*(post_and_look(h, body, reader) for body in bodies))
        assert results == [(200, True)] * N
        guids = {row[0] for row in reader.execute("SELECT event_guid FROM receiver_message")}
        assert guids == {f"g{i}" for i in range(N)}
    finally:
        reader.close()
    assert h.receiver.committer.largest_batch > 1  # transactions were shared
    print(f"{N} messages in {h.receiver.committer.batches} transactions")


async def test_duplicates_are_counted_right_within_one_batch(make_receiver: MakeReceiver) -> None:
    h = await make_receiver()
    body = envelope(guid="same")
    answers = await asyncio.gather(*(h.post("orders", body, signed(body)) for _ in range(20)))
    assert sorted(answer["duplicateCount"] for _, answer in answers) == list(range(20))
    assert h.receiver.committer.batches < 20


async def test_a_batch_never_exceeds_the_maximum(make_receiver: MakeReceiver) -> None:
    h = await make_receiver(group_commit_max_batch=3)
    bodies = [envelope() for _ in range(12)]
    await asyncio.gather(*(h.post("open", body) for body in bodies))
    assert h.receiver.committer.largest_batch == 3
