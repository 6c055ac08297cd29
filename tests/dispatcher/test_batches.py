"""The engine's transactions: each claim and each recording batch is one DeliveryStore.batch,
all or nothing, and a recording batch also claims what is due for the slots it frees."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import pytest

from dispatcher.backoff import BackoffRules
from dispatcher.engine import DeliveryEngine
from dispatcher.http import HttpSender, new_session
from dispatcher.settings import DispatcherSettings
from storage.deliveries import AttemptRecord, DeliveryQuery, DeliveryStore
from tests.dispatcher.conftest import FAST, Dispatcher
from tests.dispatcher.test_engine import one_delivery, subscribe

RULES = BackoffRules(1, 300.0, 60.0, 3, 600.0)   # the first error pauses


@pytest.fixture
def backoff_rules() -> BackoffRules:
    return RULES


@pytest.fixture
def dispatcher_settings() -> DispatcherSettings:
    return replace(FAST, concurrency=2)


@asynccontextmanager
async def engine_with(d: Dispatcher, **hooks: Any) -> AsyncIterator[DeliveryEngine]:
    """Another engine on the same database and clock, with the given hooks."""
    session = new_session(FAST)
    engine = DeliveryEngine(DeliveryStore(d.db), HttpSender(session), d.clock, FAST, RULES,
                            **hooks)
    try:
        yield engine
    finally:
        await engine.stop(timeout=1)
        await session.close()


async def test_a_stale_series_result_counts_but_leaves_the_new_series_alone(dispatcher, target):
    sub = await subscribe(dispatcher, target.url)
    await dispatcher.service.send_events(category="stock")
    store, now = dispatcher.service.deliveries, dispatcher.clock.now()
    (claimed,) = await store.batch(lambda b: b.claim_due(now, 10, now + 60))
    await store.replay(claimed.webhook_guid, now)                # series 2 starts
    attempt = AttemptRecord(series=1, number=1, started_at=now, outcome="http", status_code=200,
                            latency_ms=1.0, detail="OK", response_excerpt="")
    await store.batch(lambda b: b.record_attempts([(claimed.id, attempt, "SUCCESS", None, now)]))
    delivery, attempts = await one_delivery(dispatcher, sub.guid)
    assert (delivery.series, delivery.status, delivery.attempts, delivery.last_status_code,
            delivery.total_attempts, delivery.first_sent_at) == (2, "PENDING", 0, None, 1, now)
    assert [(a.series, a.number) for a in attempts] == [(1, 1)]   # kept in the history


async def test_a_claimed_delivery_reads_as_get_reads_it(dispatcher, target):
    """The claim builds its records from plain tuples: every field in its place."""
    await subscribe(dispatcher, target.url)
    await dispatcher.service.send_events(category="stock")
    store, now = dispatcher.service.deliveries, dispatcher.clock.now()
    (claimed,) = await store.batch(lambda b: b.claim_due(now, 10, now + 60))
    assert claimed == await store.get(claimed.webhook_guid)
    assert isinstance(claimed.body, bytes) and claimed.url == target.url


async def test_a_failing_recording_batch_leaves_nothing_of_itself(dispatcher, target):
    """The transition hook raising inside the batch rolls back the attempts, the statuses, the
    back-off state and the transition together: the deliveries stay leased, to be sent again."""
    target.status = 500
    sub = await subscribe(dispatcher, target.url)

    def broken_notify(_subscription, _transition):
        raise RuntimeError("cannot compose")

    await dispatcher.service.send_events(category="stock", count=2)
    async with engine_with(dispatcher, notify=broken_notify) as engine:
        assert await engine.step() == 2
        await engine.drain()   # the first error pauses: the hook raises, all of it rolls back
    assert len(target.requests) == 2
    assert await dispatcher.service.deliveries.status_counts(sub.guid) == {"PENDING": 2}
    assert await dispatcher.service.deliveries.attempts_of_subscription(sub.guid) == []
    view = await dispatcher.service.backoff(sub.guid)
    assert (view.status, view.errors_in_window, view.history) == ("ACTIVE", 0, [])
    page = await dispatcher.service.list_deliveries(DeliveryQuery(sub.guid))
    assert [d.total_attempts for d in page.items] == [0, 0]


@pytest.fixture
def dispatcher_settings() -> DispatcherSettings:
    return replace(FAST, concurrency=2)


async def test_recording_claims_what_is_due_for_the_slots_it_frees(dispatcher, target):
    sub = await subscribe(dispatcher, target.url)
    await dispatcher.service.send_events(category="stock", count=5)
    assert await dispatcher.engine.step() == 2      # concurrency 2
    await dispatcher.engine.drain()                 # each recording batch refilled its slots
    assert len(target.requests) == 5
    assert await dispatcher.service.deliveries.status_counts(sub.guid) == {"SUCCESS": 5}


async def test_transition_observers_are_told_after_the_commit(dispatcher, target):
    """on_transition (the load test's live view) sees each committed transition once, with the
    transition already readable from storage."""
    target.status = 500
    sub = await subscribe(dispatcher, target.url)
    seen = []

    async def observer(subscription, transition):
        history = await dispatcher.service.subscriptions.transitions(subscription.guid)
        seen.append((subscription.guid, transition.kind.value, len(history)))

    await dispatcher.service.send_events(category="stock", count=2)
    async with engine_with(dispatcher, on_transition=observer) as engine:
        await engine.step()
        await engine.drain()
    assert seen == [(sub.guid, "PAUSED", 1)]


async def test_a_claim_leases_every_row_it_returns_and_its_records_are_whole(dispatcher, target):
    await subscribe(dispatcher, target.url)
    await dispatcher.service.send_events(category="stock", count=3)
    store, now = dispatcher.service.deliveries, dispatcher.clock.now()
    claimed = await store.batch(lambda b: b.claim_due(now, 2, now + 60))
    # Built positionally from the claim's rows: the same records a read by name gives.
    assert claimed == [await store.get(d.webhook_guid) for d in claimed]
    # Both leased (one statement for the claim): only the third is left to claim...
    (third,) = await store.batch(lambda b: b.claim_due(now, 10, now + 60))
    assert third.id not in {d.id for d in claimed}
    assert await store.batch(lambda b: b.claim_due(now + 59, 10, now + 120)) == []
    # ...until the leases lapse: a dead worker's claims come back.
    again = await store.batch(lambda b: b.claim_due(now + 61, 10, now + 120))
    assert sorted(d.id for d in again) == sorted([third.id, *(d.id for d in claimed)])


async def test_an_attempt_that_raises_frees_its_slot_and_is_sent_again(dispatcher, target):
    """The pool's sender survives a raising attempt hook: the slot is freed (drain returns), the
    delivery stays PENDING under its lease and goes out again once the lease lapses."""
    sub = await subscribe(dispatcher, target.url)
    calls = []

    def flaky(delivery, number, response):
        calls.append(number)
        if len(calls) == 1:
            raise RuntimeError("observer broke")

    await dispatcher.service.send_events(category="stock", count=1)
    async with engine_with(dispatcher, on_attempt=flaky) as engine:
        assert await engine.step() == 1
        await asyncio.wait_for(engine.drain(), 5)        # the raising attempt freed its slot
        assert engine.in_flight == 0
        assert await dispatcher.service.deliveries.status_counts(sub.guid) == {"PENDING": 1}
        assert await engine.step() == 0                  # still leased
        dispatcher.clock.advance(engine.lease_seconds + 1)
        assert await engine.step() == 1                  # the lease lapsed: sent again
        await engine.drain()
    assert calls == [1, 1] and len(target.requests) == 2
    assert await dispatcher.service.deliveries.status_counts(sub.guid) == {"SUCCESS": 1}


async def test_stop_cancels_attempts_in_flight_without_hanging(dispatcher, target):
    """Attempts still in flight when stop's drain times out are cancelled: their slots are
    freed, stop returns, and the deliveries stay PENDING under their leases (sent again later)."""
    target.delay = 5.0
    sub = await subscribe(dispatcher, target.url)
    await dispatcher.service.send_events(category="stock", count=4)
    assert await dispatcher.engine.step() == 2           # concurrency 2: both slots taken
    await asyncio.sleep(0.05)                             # both requests are out
    await asyncio.wait_for(dispatcher.engine.stop(timeout=0.1), 5)
    assert dispatcher.engine.in_flight == 0
    await asyncio.wait_for(dispatcher.engine.drain(), 1)  # no slot left taken
    assert len(target.requests) == 2
    assert await dispatcher.service.deliveries.status_counts(sub.guid) == {"PENDING": 4}
