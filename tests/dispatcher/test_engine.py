"""Delivery against real local HTTP targets: headers, signatures, retries, statuses, back-off."""

from __future__ import annotations

import json

import pytest

import signing
from storage.deliveries import DeliveryQuery
from tests.dispatcher.conftest import Dispatcher, Target


async def subscribe(d: Dispatcher, url: str, category: str = "stock"):
    return await d.service.create_subscription(event_category=category, url=url,
                                               notification_email="dev@example.com")


async def one_delivery(d: Dispatcher, sub_guid: str):
    page = await d.service.list_deliveries(DeliveryQuery(sub_guid))
    assert len(page.items) == 1
    return await d.service.get_delivery(page.items[0].webhook_guid)


async def test_success_sends_platform_headers_and_a_verifiable_signature(dispatcher, target):
    sub = await subscribe(dispatcher, target.url, "stock")
    (event,) = await dispatcher.service.send_events(category="stock", event_type="low_quantity")
    assert await dispatcher.run_due() == 1
    headers, body = target.requests[0]
    assert body == event.body()
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert headers["Toast-Event-Type"] == "low_quantity"
    assert headers["Toast-Event-Category"] == "stock"
    assert headers["Toast-Attempt-Number"] == "1"
    assert headers["Toast-Restaurant-External-ID"] == event.restaurant_guid
    assert headers["User-Agent"] == "Apache-HttpClient/4.5.10 (Java/1.8.0_212)"
    assert signing.verify(sub.secret, body, headers["Toast-Signature"]) == sub.secret
    delivery, attempts = await one_delivery(dispatcher, sub.guid)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("SUCCESS", 1, 200)
    assert delivery.route_key == f"stock.{event.restaurant_guid}"
    assert delivery.first_sent_at == dispatcher.clock.now()
    assert attempts[0].outcome == "http" and attempts[0].response_excerpt == "answered 200"


async def test_partner_events_carry_no_restaurant_header(dispatcher, target):
    await subscribe(dispatcher, target.url, "partner")
    await dispatcher.service.send_events(category="partner")
    await dispatcher.run_due()
    headers, body = target.requests[0]
    assert "Toast-Restaurant-External-ID" not in headers
    assert json.loads(body)["eventCategory"] == "partner"


@pytest.mark.parametrize("status", [500, 503, 404, 429])
async def test_retryable_answers_retry_after_5_then_10_minutes_then_fail(dispatcher, target,
                                                                          status):
    target.status = status
    sub = await subscribe(dispatcher, target.url)
    await dispatcher.service.send_events(category="stock")
    await dispatcher.run_due()
    delivery, _ = await one_delivery(dispatcher, sub.guid)
    assert delivery.status == "PENDING"
    assert delivery.next_attempt_at == pytest.approx(dispatcher.clock.now() + 300)

    await dispatcher.advance(299)
    assert len(target.requests) == 1          # not yet due
    await dispatcher.advance(1)
    assert len(target.requests) == 2
    assert target.requests[1][0]["Toast-Attempt-Number"] == "2"
    assert target.requests[1][1] == target.requests[0][1]       # same body, same signature
    assert target.requests[1][0]["Toast-Signature"] == target.requests[0][0]["Toast-Signature"]

    await dispatcher.advance(599)
    assert len(target.requests) == 2
    await dispatcher.advance(1)
    assert target.requests[2][0]["Toast-Attempt-Number"] == "3"
    delivery, attempts = await one_delivery(dispatcher, sub.guid)
    assert (delivery.status, len(attempts), delivery.last_status_code) == ("FAILURE", 3, status)
    await dispatcher.advance(3600)
    assert len(target.requests) == 3


@pytest.mark.parametrize("status", [400, 401, 403, 409, 422, 301, 302])
async def test_other_4xx_and_3xx_fail_at_once_and_redirects_are_not_followed(dispatcher, target,
                                                                             status):
    target.status = status
    sub = await subscribe(dispatcher, target.url)
    await dispatcher.service.send_events(category="stock")
    await dispatcher.run_due()
    delivery, attempts = await one_delivery(dispatcher, sub.guid)
    assert (delivery.status, len(attempts), delivery.last_status_code) == ("FAILURE", 1, status)
    assert len(target.requests) == 1          # /elsewhere was never requested


async def test_a_slow_endpoint_times_out_and_is_retried(dispatcher, target):
    target.delay = 1.0                        # read timeout in these tests is 0.3 s
    sub = await subscribe(dispatcher, target.url)
    await dispatcher.service.send_events(category="stock")
    await dispatcher.run_due()
    delivery, attempts = await one_delivery(dispatcher, sub.guid)
    assert (attempts[0].outcome, attempts[0].status_code) == ("timeout", None)
    assert delivery.status == "PENDING" and delivery.last_outcome == "timeout"


async def test_a_closed_port_is_a_connect_error_and_is_retried(dispatcher, unused_tcp_port):
    sub = await subscribe(dispatcher, f"http://127.0.0.1:{unused_tcp_port}/hook")
    await dispatcher.service.send_events(category="stock")
    await dispatcher.run_due()
    delivery, attempts = await one_delivery(dispatcher, sub.guid)
    assert attempts[0].outcome == "connect_error"
    assert delivery.status == "PENDING"


async def test_availability_messages_retry_fast(dispatcher, target):
    target.status = 500
    sub = await subscribe(dispatcher, target.url, "restaurant_availability")
    await dispatcher.service.send_events(category="restaurant_availability")
    await dispatcher.run_due()
    for delay in (2, 4, 8, 16, 30):
        await dispatcher.advance(delay)
    delivery, attempts = await one_delivery(dispatcher, sub.guid)
    assert [a.number for a in attempts] == [1, 2, 3, 4, 5, 6]
    gaps = [round(b.started_at - a.started_at) for a, b in zip(attempts, attempts[1:])]
    assert gaps == [2, 4, 8, 16, 30]
    assert delivery.status == "FAILURE"


async def test_replay_resends_the_same_event_in_a_new_series(dispatcher, target):
    target.status = 400
    sub = await subscribe(dispatcher, target.url)
    await dispatcher.service.send_events(category="stock")
    await dispatcher.run_due()
    delivery, _ = await one_delivery(dispatcher, sub.guid)
    target.status = 200
    await dispatcher.service.replay(delivery.webhook_guid)
    await dispatcher.run_due()
    replayed, attempts = await dispatcher.service.get_delivery(delivery.webhook_guid)
    assert replayed.status == "SUCCESS" and replayed.series == 2
    assert [(a.series, a.number) for a in attempts] == [(1, 1), (2, 1)]
    assert target.requests[1][1] == target.requests[0][1]
    assert target.requests[1][0]["Toast-Attempt-Number"] == "1"


async def test_an_event_fans_out_to_every_subscription_of_its_category(dispatcher, target):
    subs = [await subscribe(dispatcher, target.url, "menus") for _ in range(3)]
    await subscribe(dispatcher, target.url, "stock")
    (event,) = await dispatcher.service.send_events(category="menus")
    await dispatcher.run_due()
    assert len(target.requests) == 3
    signatures = {h["Toast-Signature"] for h, _ in target.requests}
    assert len(signatures) == 3               # each subscription signs with its own secret
    for sub in subs:
        delivery, _ = await one_delivery(dispatcher, sub.guid)
        assert delivery.event_guid == event.guid and delivery.status == "SUCCESS"


async def test_a_subscription_deleted_mid_flight_does_not_lose_the_batch(dispatcher, target):
    target.delay = 0.1
    doomed = await subscribe(dispatcher, target.url, "stock")
    kept = await subscribe(dispatcher, target.url, "stock")
    await dispatcher.service.send_events(category="stock", count=3)
    assert await dispatcher.engine.step() == 6           # all six attempts in flight together
    await dispatcher.service.delete_subscription(doomed.guid)
    await dispatcher.engine.drain()                       # one batch holds both subscriptions
    counts = await dispatcher.service.deliveries.status_counts(kept.guid)
    assert counts == {"SUCCESS": 3}


async def test_a_replay_during_an_attempt_keeps_the_new_series_counters(dispatcher, target):
    target.delay = 0.1
    sub = await subscribe(dispatcher, target.url)
    await dispatcher.service.send_events(category="stock")
    assert await dispatcher.engine.step() == 1
    delivery, _ = await one_delivery(dispatcher, sub.guid)
    await dispatcher.service.replay(delivery.webhook_guid)   # while attempt 1 of series 1 flies
    await dispatcher.engine.drain()
    # Series 2 is still PENDING when series 1's success is recorded: that recording batch
    # claims it for the slot it frees (or the next pass does). Had the old result overwritten
    # the new series (status SUCCESS, lease released), series 2 would never be sent.
    await dispatcher.run_due()
    replayed, attempts = await dispatcher.service.get_delivery(delivery.webhook_guid)
    assert [(a.series, a.number) for a in attempts] == [(1, 1), (2, 1)]   # 1 kept in the history
    assert (replayed.series, replayed.status, replayed.attempts,
            replayed.total_attempts) == (2, "SUCCESS", 1, 2)


@pytest.mark.parametrize("level", ["info", "debug"])
async def test_info_logs_each_recording_batch_debug_adds_each_attempt(
        dispatcher, target, monkeypatch: pytest.MonkeyPatch, level: str) -> None:
    import logging

    import structlog

    from dispatcher import engine

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(
        logging.getLevelName(level.upper())))
    monkeypatch.setattr(engine, "log", structlog.get_logger("hooksim.dispatcher"))
    try:
        await subscribe(dispatcher, target.url)
        await dispatcher.service.send_events(category="stock", count=3)
        with structlog.testing.capture_logs() as logs:
            await dispatcher.run_due()
    finally:
        structlog.reset_defaults()
    recorded = [e for e in logs if e["event"] == "delivery.recorded"]
    assert sum(e["attempts"] for e in recorded) == 3 and sum(e["success"] for e in recorded) == 3
    attempts = [e for e in logs if e["event"] == "delivery.attempt"]
    assert len(attempts) == (3 if level == "debug" else 0)


async def test_two_processes_with_one_seed_tell_the_same_events_under_different_guids(
        dispatcher, target):
    """The seed reproduces what events say; GUIDs come from per-process randomness, so a second
    dispatcher (or a restart) on the same database never collides on the event table's key."""
    import re

    from dispatcher.service import DispatcherService

    await subscribe(dispatcher, target.url)
    twin = DispatcherService(dispatcher.db, dispatcher.clock, dispatcher.service.settings,
                             dispatcher.service.rules, wake=lambda: None)
    first = await dispatcher.service.send_events(category="stock", count=20)
    second = await twin.send_events(category="stock", count=20)
    assert [(e.event_type, e.details) for e in first] == [(e.event_type, e.details)
                                                          for e in second]
    guids = [e.guid for e in first + second]
    assert len(set(guids)) == 40
    v4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
    assert all(v4.fullmatch(g) for g in guids)
    page = await dispatcher.service.list_deliveries(DeliveryQuery(
        (await dispatcher.service.list_subscriptions())[0].guid, limit=100))
    assert len({d.webhook_guid for d in page.items}) == 40
