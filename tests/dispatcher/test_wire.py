"""What the dispatcher puts on the wire, captured by a raw socket on 127.0.0.1 (spec sections 3, 5)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

import signing
from storage.deliveries import DeliveryQuery
from tests.dispatcher.conftest import FAST
from tests.dispatcher.rawtarget import raw_target

# Toast's documented headers, and nothing else (spec section 3); Host and Content-Length by HTTP/1.1.
TOAST_HEADERS = {"host", "content-type", "content-length", "toast-signature", "toast-event-type",
                 "toast-event-category", "toast-attempt-number", "toast-restaurant-external-id",
                 "user-agent", "accept-encoding", "connection"}


async def _subscribe(dispatcher, url: str, category: str):
    return await dispatcher.service.create_subscription(event_category=category, url=url,
                                                        notification_email="dev@example.com")


async def test_each_request_is_alone_on_its_connection_with_toasts_headers_only(dispatcher):
    async with raw_target() as target:
        sub = await _subscribe(dispatcher, target.url, "stock")
        events = await dispatcher.service.send_events(category="stock", count=3)
        await dispatcher.run_due()
    assert len(target.requests) == 3
    # One connection per request: none was reused.
    assert sorted(r.connection for r in target.requests) == [1, 2, 3]
    by_body = {r.body: r for r in target.requests}
    for event in events:
        request = by_body[event.body()]
        assert request.request_line == "POST /hook HTTP/1.1"
        names = [name.lower() for name, _ in request.header_lines]
        assert set(names) == TOAST_HEADERS and len(names) == len(set(names))
        assert request.header("Connection") == "close"
        assert request.header("Accept-Encoding") == "gzip,deflate"
        assert request.header("Accept") is None
        assert request.header("Content-Type") == "application/json; charset=utf-8"
        assert request.header("Content-Length") == str(len(event.body()))
        assert request.header("Host") == target.url.split("/")[2]
        assert request.header("User-Agent") == "Apache-HttpClient/4.5.10 (Java/1.8.0_212)"
        assert request.header("Toast-Event-Category") == "stock"
        assert request.header("Toast-Event-Type") == event.event_type
        assert request.header("Toast-Attempt-Number") == "1"
        assert request.header("Toast-Restaurant-External-ID") == event.restaurant_guid
        assert signing.verify(sub.secret, request.body, request.header("Toast-Signature"))


@pytest.fixture
def dispatcher_settings(request):
    return replace(FAST, **getattr(request, "param", {}))


@pytest.mark.parametrize("dispatcher_settings", [{"keep_alive": True}], indirect=True)
async def test_keep_alive_setting_reuses_one_connection_without_a_connection_header(dispatcher):
    async with raw_target() as target:
        await _subscribe(dispatcher, target.url, "menus")
        for _ in range(3):   # one after another, so the idle connection is there to reuse
            await dispatcher.service.send_events(category="menus")
            await dispatcher.run_due()
    assert [r.connection for r in target.requests] == [1, 1, 1]
    assert all(r.header("Connection") is None and r.header("Accept") is None
               for r in target.requests)


# An answer trickled a byte at a time: never 0.6 s without progress, yet 2 s in all.
TRICKLED = (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Pad: 12345\r\n\r\n", 0.04)


async def _trickled_delivery(dispatcher):
    """One menus event sent to a target that trickles its answer; its delivery and attempts."""
    async with raw_target() as target:
        target.trickle = TRICKLED
        sub = await _subscribe(dispatcher, target.url, "menus")
        await dispatcher.service.send_events(category="menus")
        await dispatcher.run_due()
    (delivery,) = (await dispatcher.service.list_deliveries(DeliveryQuery(sub.guid))).items
    return await dispatcher.service.get_delivery(delivery.webhook_guid)


@pytest.mark.parametrize("dispatcher_settings", [{"read_timeout": 0.6}], indirect=True)
async def test_socket_timeouts_only_by_default_so_a_slow_steady_answer_succeeds(dispatcher):
    delivery, _ = await _trickled_delivery(dispatcher)
    assert (delivery.status, delivery.last_status_code) == ("SUCCESS", 200)


@pytest.mark.parametrize("dispatcher_settings", [{"read_timeout": 0.6, "attempt_total_timeout": 0.5}],
                         indirect=True)
async def test_attempt_total_timeout_setting_caps_the_whole_attempt(dispatcher):
    delivery, attempts = await _trickled_delivery(dispatcher)
    assert (delivery.status, attempts[0].outcome) == ("PENDING", "timeout")


async def test_a_raw_capture_of_every_event_type_and_a_large_order_matches_the_documents(dispatcher):
    """Done-when of issue 16: every type, and a 600 KB order, pass shapes, headers and signatures."""
    from dispatcher import events as catalogue

    kinds = [(c, t) for c in catalogue.categories() for t in catalogue.event_types(c)]
    async with raw_target() as target:
        subs = {c: await _subscribe(dispatcher, f"{target.url}?{c}", c) for c in catalogue.categories()}
        sent = [event for category, event_type in kinds
                for event in await dispatcher.service.send_events(category=category,
                                                                  event_type=event_type)]
        sent += await dispatcher.service.send_events(category="orders", large=True)
        await dispatcher.run_due()
    assert len(target.requests) == len(sent) == len(kinds) + 1
    by_body = {r.body: r for r in target.requests}
    assert sorted(r.connection for r in target.requests) == list(range(1, len(sent) + 1))
    for event in sent:
        request = by_body[event.body()]
        envelope = json.loads(request.body)
        assert request.header("Toast-Event-Category") == envelope["eventCategory"]
        assert request.header("Toast-Event-Type") == envelope["eventType"] == event.event_type
        assert request.header("Toast-Restaurant-External-ID") == event.restaurant_guid
        assert request.header("Connection") == "close" and request.header("Accept") is None
        names = {name.lower() for name, _ in request.header_lines}
        assert names <= TOAST_HEADERS
        secret = subs[event.category].secret
        assert signing.verify(secret, request.body, request.header("Toast-Signature")) == secret
        catalogue.validate_details(envelope["eventCategory"], envelope["eventType"], envelope["details"])
    assert max(len(r.body) for r in target.requests) > 600 * 1024


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_a_compressed_answer_is_kept_readable(dispatcher, encoding):
    """The platform accepts gzip and deflate, so the attempt's excerpt is the inflated text."""
    import gzip
    import zlib

    text = b"accepted, thank you " * 10
    packed = gzip.compress(text) if encoding == "gzip" else zlib.compress(text)
    async with raw_target() as target:
        target.answer = (b"HTTP/1.1 200 OK\r\nContent-Encoding: " + encoding.encode() +
                         b"\r\nContent-Length: " + str(len(packed)).encode() + b"\r\n\r\n" + packed)
        sub = await _subscribe(dispatcher, target.url, "menus")
        await dispatcher.service.send_events(category="menus")
        await dispatcher.run_due()
    (delivery,) = (await dispatcher.service.list_deliveries(DeliveryQuery(sub.guid))).items
    _, attempts = await dispatcher.service.get_delivery(delivery.webhook_guid)
    assert attempts[0].response_excerpt == text.decode()
