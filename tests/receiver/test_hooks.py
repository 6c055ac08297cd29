"""POST /hooks/{name} over real HTTP: every status, what is stored, duplicates, storage failure."""

from __future__ import annotations

import asyncio
import base64
import json
import zlib
from collections.abc import AsyncIterator

import pytest

import signing
from receiver import ENDPOINTS
from tests.backends import connect
from tests.receiver.conftest import SECRET, MakeReceiver, default_settings, envelope, signed


async def test_a_signed_message_is_stored_exactly_and_acknowledged(
        make_receiver: MakeReceiver) -> None:
    h = await make_receiver()
    # Unusual but valid JSON spacing and a non-ASCII name: re-serialising would change the bytes.
    body = envelope(guid="e-1", note="Café  Olé").replace(b'"note"', b' "note" ')
    status, answer = await h.post("orders", body, signed(body, **{"X-Custom": "kept"}))
    assert status == 200
    assert answer == {"stored": True, "id": 1, "duplicate": False, "duplicateCount": 0}

    detail = await h.get("/api/messages/1")
    assert base64.b64decode(detail["bodyBase64"]) == body
    assert detail["body"] == body.decode()
    headers = dict(detail["headers"])
    assert headers["X-Custom"] == "kept" and headers["Toast-Signature"]
    assert {k: detail[k] for k in ("endpoint", "eventGuid", "category", "type", "restaurantGuid",
                                   "verified", "reason", "status", "accepted", "duplicate",
                                   "remote", "method", "bodySize")} == {
        "endpoint": "orders", "eventGuid": "e-1", "category": "menus", "type": "menus_updated",
        "restaurantGuid": "00000000-1111-2222-3333-444444444444", "verified": True,
        "reason": None, "status": 200, "accepted": True, "duplicate": False,
        "remote": "127.0.0.1", "method": "POST", "bodySize": len(body)}
    assert detail["receivedAt"].endswith("Z") and len(detail["receivedAt"]) == 24
    async with h.client.get("/api/messages/1/body") as response:
        assert await response.read() == body


async def test_a_restaurant_named_only_in_the_header_is_the_messages_restaurant(
        make_receiver: MakeReceiver) -> None:
    """packaging_updated carries no restaurantGuid in its details; the platform's
    Toast-Restaurant-External-ID header names the restaurant (a GUID in the body wins)."""
    h = await make_receiver()
    body = json.dumps({"timestamp": "2024-03-28T15:11:01.050Z", "eventCategory": "packaging",
                       "eventType": "packaging_updated", "guid": "p-1",
                       "details": {"packagingConfig": {"enabled": True, "items": []}}}).encode()
    header = {"Toast-Restaurant-External-ID": "aaaaaaaa-1111-2222-3333-444444444444"}
    assert (await h.post("orders", body, signed(body, **header)))[0] == 200
    assert (await h.get("/api/messages/1"))["restaurantGuid"] == header["Toast-Restaurant-External-ID"]
    other = envelope(guid="m-1")   # details.restaurantGuid 00000000-...
    assert (await h.post("orders", other, signed(other, **header)))[0] == 200
    assert (await h.get("/api/messages/2"))["restaurantGuid"] == "00000000-1111-2222-3333-444444444444"


async def test_any_of_several_secrets_verifies(make_receiver: MakeReceiver) -> None:
    h = await make_receiver()
    body = envelope()
    assert (await h.post("rotating", body, signed(body, "old-secret")))[0] == 200
    assert (await h.post("rotating", body, signed(body, SECRET)))[0] == 200
    assert (await h.post("rotating", body, signed(body, "other")))[0] == 401


@pytest.mark.parametrize(("headers", "reason"), [
    ({}, "missing_signature"),
    ({"Toast-Signature": "short"}, "malformed_signature"),
    ({"Toast-Signature": signing.sign("wrong", b"x", "t")}, "signature_mismatch"),
])
async def test_bad_signatures_get_401_with_the_reason(make_receiver: MakeReceiver,
                                                      headers: dict[str, str],
                                                      reason: str) -> None:
    h = await make_receiver()
    status, answer = await h.post("orders", envelope(guid="g"), headers)
    assert status == 401
    assert answer["error"] == reason and answer["detail"]
    [stored] = (await h.get("/api/messages"))["messages"]
    assert (stored["verified"], stored["reason"], stored["status"], stored["accepted"]) == (
        False, reason, 401, False)
    assert stored["eventGuid"] == "g"  # what could be parsed is kept for the inspector


@pytest.mark.parametrize(("body", "reason"), [
    (b"not json", "not_json"),
    (b"[1, 2]", "not_an_object"),
    (b'{"guid": "g"}', "missing_fields"),
    (b'{"timestamp": 5, "eventCategory": "c", "eventType": "x", "guid": "g", "details": {}}',
     "missing_fields"),
    (b"\xff\xfe\x00garbage", "not_json"),
])
async def test_malformed_bodies_get_400(make_receiver: MakeReceiver, body: bytes,
                                        reason: str) -> None:
    # Signed endpoints too: without a text timestamp there is nothing a signature could cover.
    h = await make_receiver()
    for endpoint, headers in (("open", {}), ("orders", {"Toast-Signature": "A" * 43 + "="})):
        status, answer = await h.post(endpoint, body, headers)
        assert (status, answer["error"]) == (400, reason), endpoint


async def test_on_a_signed_endpoint_401_comes_before_400(make_receiver: MakeReceiver) -> None:
    h = await make_receiver()
    body = b'{"timestamp": "t", "eventCategory": 1}'
    assert (await h.post("open", body))[0] == 400
    assert (await h.post("orders", body))[0] == 401
    assert (await h.post("orders", body, {"Toast-Signature": "A" * 43 + "="}))[0] == 401


async def test_a_validly_signed_envelope_missing_fields_is_400(make_receiver: MakeReceiver) -> None:
    h = await make_receiver()
    body = b'{"timestamp":"2024-01-01T00:00:00.000Z","guid":"g"}'
    headers = {"Toast-Signature": signing.sign(SECRET, body, "2024-01-01T00:00:00.000Z")}
    status, answer = await h.post("orders", body, headers)
    assert (status, answer["error"]) == (400, "missing_fields")
    assert "eventCategory" in answer["detail"]


async def test_without_secrets_messages_are_accepted_unverified(
        make_receiver: MakeReceiver) -> None:
    h = await make_receiver()
    assert (await h.post("open", envelope()))[0] == 200
    [stored] = (await h.get("/api/messages", verified="unchecked"))["messages"]
    assert (stored["verified"], stored["reason"]) == (None, "no_secret")


async def test_oversize_by_content_length_is_413_without_reading(
        make_receiver: MakeReceiver) -> None:
    h = await make_receiver()
    status, answer = await h.post("orders", b"x" * 5000)
    assert (status, answer["error"]) == (413, "body_too_large")
    [stored] = (await h.get("/api/messages"))["messages"]
    assert (stored["status"], stored["bodySize"]) == (413, 5000)


async def test_oversize_chunked_is_413_after_a_capped_read(make_receiver: MakeReceiver) -> None:
    h = await make_receiver()
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked transfer encoding
        nonlocal sent
        for _ in range(10):
            sent += 1000
            yield b"y" * 1000

    status, answer = await h.post("orders", chunks())  # type: ignore[arg-type]
    assert (status, answer["error"]) == (413, "body_too_large")
    [stored] = (await h.get("/api/messages"))["messages"]
    assert stored["bodySize"] == 4097 and stored["status"] == 413


async def test_a_body_of_exactly_the_limit_is_read(make_receiver: MakeReceiver) -> None:
    h = await make_receiver()
    body = envelope(pad="")
    body = body[:-1] + b',"x":"' + b"p" * (4096 - len(body) - 7) + b'"}'
    assert len(body) == 4096
    assert (await h.post("open", body))[0] == 200


async def test_wrong_method_is_405_and_unknown_endpoint_404(make_receiver: MakeReceiver) -> None:
    h = await make_receiver()
    for method in ("GET", "PUT", "DELETE", "PATCH"):
        async with h.client.request(method, "/hooks/orders") as response:
            assert response.status == 405
            assert response.headers["Allow"] == "POST"
            assert (await response.json())["error"] == "method_not_allowed"
    status, answer = await h.post("nobody", envelope())
    assert (status, answer["error"]) == (404, "unknown_endpoint")
    status, answer = await h.post("bad%20name", envelope())
    assert (status, answer["error"]) == (404, "unknown_endpoint")
    stored = (await h.get("/api/messages"))["messages"]
    assert [m["status"] for m in stored] == [404, 405, 405, 405, 405]  # bad names are not kept


async def test_auto_endpoints_accept_any_name_with_the_receiver_secrets(
        make_receiver: MakeReceiver) -> None:
    h = await make_receiver(auto_endpoints=True, secrets=(SECRET,))
    body = envelope()
    assert (await h.post("anything.at-all", body, signed(body)))[0] == 200
    assert (await h.post("anything", body))[0] == 401


async def test_bad_compression_is_400_not_500(make_receiver: MakeReceiver) -> None:
    h = await make_receiver()
    status, answer = await h.post("open", b"definitely not gzip", {"Content-Encoding": "gzip"})
    assert (status, answer["error"]) == (400, "unreadable_body")
    deflated = zlib.compress(envelope())
    assert (await h.post("open", deflated, {"Content-Encoding": "deflate"}))[0] == 200


async def test_duplicates_are_acknowledged_and_flagged_per_endpoint(
        make_receiver: MakeReceiver) -> None:
    h = await make_receiver()
    body = envelope(guid="same")
    answers = [await h.post(name, body, signed(body)) for name in ("orders", "orders", "rotating",
                                                                   "orders")]
    assert [(s, a["duplicateCount"]) for s, a in answers] == [(200, 0), (200, 1), (200, 0),
                                                              (200, 2)]
    dups = (await h.get("/api/messages", duplicate="true"))["messages"]
    assert [(m["endpoint"], m["duplicateCount"]) for m in dups] == [("orders", 2), ("orders", 1)]


async def test_a_flood_of_one_event_numbers_every_arrival_once(make_receiver: MakeReceiver) -> None:
    # Concurrent requests share group-commit transactions: each still sees every one before it.
    h = await make_receiver()
    body = envelope(guid="flood")
    answers = await asyncio.gather(*(h.post("orders", body, signed(body)) for _ in range(60)))
    assert {status for status, _ in answers} == {200}
    assert sorted(answer["duplicateCount"] for _, answer in answers) == list(range(60))
    assert h.receiver.committer.largest_batch > 1


async def test_rejected_requests_are_not_kept_when_told(make_receiver: MakeReceiver) -> None:
    h = await make_receiver(store_rejected=False)
    assert (await h.post("orders", envelope()))[0] == 401
    body = envelope()
    assert (await h.post("orders", body, signed(body)))[0] == 200
    assert [m["status"] for m in (await h.get("/api/messages"))["messages"]] == [200]


async def test_an_unwritable_database_gets_503_never_2xx(make_receiver: MakeReceiver) -> None:
    h = await make_receiver(busy_timeout_ms=50)
    with connect(h.storage) as blocker, blocker.holding_write_lock("receiver_message"):
        body = envelope()
        status, answer = await h.post("orders", body, signed(body))
        assert (status, answer["error"]) == (503, "storage_unavailable")
        # A rejection is still answered as such, stored or not.
        assert (await h.post("orders", body))[0] == 401
    status, _ = await h.post("orders", body, signed(body))
    assert status == 200
    assert len((await h.get("/api/messages"))["messages"]) == 1


async def test_default_settings_hold_a_600_kb_order_payload(make_receiver: MakeReceiver) -> None:
    h = await make_receiver(default_settings(max_body_bytes=2 * 1024 * 1024))
    body = envelope(category="orders", event_type="order_updated", blob="z" * 650_000)
    status, _ = await h.post("orders", body, signed(body))
    assert status == 200


async def test_endpoints_can_be_added_at_run_time(make_receiver: MakeReceiver) -> None:
    h = await make_receiver()
    endpoints = h.client.app[ENDPOINTS]
    endpoints.configure("demo-menus", ("demo-secret",))
    body = envelope()
    assert (await h.post("demo-menus", body, signed(body, "demo-secret")))[0] == 200
    assert (await h.post("demo-menus", body, signed(body)))[0] == 401
    with pytest.raises(ValueError):
        endpoints.configure("no spaces", ())
