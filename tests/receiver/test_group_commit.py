"""Group commit under concurrency: N parallel posts, N rows, each acknowledged only once durable."""

from __future__ import annotations

import asyncio

import pytest
import structlog

from receiver import groupcommit, hooks
from tests.backends import SyncConnection, connect
from tests.receiver.conftest import Harness, MakeReceiver, envelope, signed

N = 60


async def post_and_look(h: Harness, body: bytes, reader: SyncConnection) -> tuple[int, bool]:
    """Post, and the moment the answer arrives look for the row from another connection: it
    only sees committed transactions, so a row there means the 2xx followed the commit."""
    status, answer = await h.post("orders", body, signed(body))
    row = reader.execute("SELECT 1 FROM receiver_message WHERE id = ?", (answer["id"],)).fetchone()
    return status, row is not None


async def test_parallel_posts_are_batched_and_each_ack_follows_its_commit(
        make_receiver: MakeReceiver) -> None:
    h = await make_receiver()
    with connect(h.storage) as reader:
        bodies = [envelope(guid=f"g{i}") for i in range(N)]
        results = await asyncio.gather(*(post_and_look(h, body, reader) for body in bodies))
        assert results == [(200, True)] * N
        guids = {row[0] for row in reader.execute("SELECT event_guid FROM receiver_message")}
        assert guids == {f"g{i}" for i in range(N)}
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


async def test_info_logs_a_line_per_transaction_and_debug_one_per_message(
        make_receiver: MakeReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
    # Fresh proxies, so capture_logs sees them whatever an earlier configure_logging cached.
    monkeypatch.setattr(groupcommit, "log", structlog.get_logger("hooksim.receiver"))
    monkeypatch.setattr(hooks, "log", structlog.get_logger("hooksim.receiver"))
    h = await make_receiver()
    same = envelope(guid="same")
    with structlog.testing.capture_logs() as logs:
        await asyncio.gather(*(h.post("orders", same, signed(same)) for _ in range(5)),
                             *(h.post("open", body, signed(body))
                               for body in (envelope() for _ in range(5))))
        await h.post("orders", same, {"Toast-Signature": "forged"})
    batches = [e for e in logs if e["event"] == "receiver.batch_stored"]
    assert len(batches) == h.receiver.committer.batches
    assert all(e["log_level"] == "info" for e in batches)
    assert sum(e["messages"] for e in batches) == 11       # the rejected one is stored too
    assert sum(e["duplicates"] for e in batches) == 5      # 4 copies + the forged one
    assert set().union(*(e["endpoints"] for e in batches)) == {"orders", "open"}
    stored = [e for e in logs if e["event"] == "receiver.stored"]
    assert len(stored) == 10 and {e["log_level"] for e in stored} == {"debug"}
    [rejected] = [e for e in logs if e["event"] == "receiver.rejected"]
    assert rejected["log_level"] == "info" and rejected["reason"] == "malformed_signature"
