"""HAR 1.2 exports: receiver messages (API and CLI) and a subscription's delivery attempts. Each
validates against the HAR 1.2 schema and gives back every body byte for byte."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import pytest
from aiohttp.test_utils import TestClient

from dispatcher.app import ENGINE
from dispatcher.clock import FakeClock
from storage.har import body_bytes
from tests.auth.helpers import bearer_headers
from tests.webhooks import Target
from tests.observability.conftest import SECRET, MakeApp
from tests.observability.test_metrics import settle, target_at
from tests.webhooks import envelope, signed
from tests.receiver.test_cli import Receiver, cli

# HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/), the parts an export has: every
# required field with its type. Fields starting with "_" are the spec's custom fields.
_NAME_VALUE = {"type": "object", "required": ["name", "value"],
               "properties": {"name": {"type": "string"}, "value": {"type": "string"}}}
_TIMING = {"type": "number", "minimum": -1}
HAR_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["log"], "additionalProperties": False,
    "properties": {"log": {
        "type": "object", "required": ["version", "creator", "entries"],
        "properties": {
            "version": {"const": "1.2"},
            "creator": {"type": "object", "required": ["name", "version"],
                        "properties": {"name": {"type": "string"},
                                       "version": {"type": "string"}}},
            "comment": {"type": "string"},
            "entries": {"type": "array", "items": {
                "type": "object",
                "required": ["startedDateTime", "time", "request", "response", "cache",
                             "timings"],
                "patternProperties": {"^_": {}},
                "properties": {
                    "startedDateTime": {"type": "string", "pattern":
                                        r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$"},
                    "time": {"type": "number", "minimum": 0},
                    "request": {
                        "type": "object",
                        "required": ["method", "url", "httpVersion", "cookies", "headers",
                                     "queryString", "headersSize", "bodySize"],
                        "properties": {
                            "method": {"type": "string"}, "url": {"type": "string"},
                            "httpVersion": {"type": "string"},
                            "cookies": {"type": "array"},
                            "headers": {"type": "array", "items": _NAME_VALUE},
                            "queryString": {"type": "array", "items": _NAME_VALUE},
                            "postData": {"type": "object", "required": ["mimeType"],
                                         "properties": {"mimeType": {"type": "string"},
                                                        "text": {"type": "string"},
                                                        "encoding": {"const": "base64"}}},
                            "headersSize": {"type": "integer"},
                            "bodySize": {"type": "integer"}}},
                    "response": {
                        "type": "object",
                        "required": ["status", "statusText", "httpVersion", "cookies",
                                     "headers", "content", "redirectURL", "headersSize",
                                     "bodySize"],
                        "properties": {
                            "status": {"type": "integer"}, "statusText": {"type": "string"},
                            "httpVersion": {"type": "string"},
                            "cookies": {"type": "array"},
                            "headers": {"type": "array", "items": _NAME_VALUE},
                            "content": {"type": "object", "required": ["size", "mimeType"],
                                        "properties": {"size": {"type": "integer"},
                                                       "mimeType": {"type": "string"},
                                                       "text": {"type": "string"},
                                                       "encoding": {"const": "base64"}}},
                            "redirectURL": {"type": "string"},
                            "headersSize": {"type": "integer"},
                            "bodySize": {"type": "integer"}}},
                    "cache": {"type": "object"},
                    "timings": {"type": "object", "required": ["send", "wait", "receive"],
                                "properties": {k: _TIMING for k in (
                                    "blocked", "dns", "connect", "ssl", "send", "wait",
                                    "receive")}},
                    "serverIPAddress": {"type": "string"},
                    "comment": {"type": "string"}}}}}}}}


def valid_har(document: Any) -> list[dict[str, Any]]:
    jsonschema.validate(document, HAR_SCHEMA)
    return document["log"]["entries"]


def test_the_schema_refuses_what_is_not_har() -> None:
    """The schema is not a rubber stamp: a HAR without a response's status, or a body field
    of the wrong kind, fails."""
    entry = {"startedDateTime": "2024-03-28T15:11:01.050Z", "time": 0, "cache": {},
             "timings": {"send": 0, "wait": 0, "receive": 0},
             "request": {"method": "POST", "url": "http://h/", "httpVersion": "HTTP/1.1",
                         "cookies": [], "headers": [], "queryString": [], "headersSize": -1,
                         "bodySize": 0},
             "response": {"statusText": "", "httpVersion": "HTTP/1.1", "cookies": [],
                          "headers": [], "content": {"size": 0, "mimeType": ""},
                          "redirectURL": "", "headersSize": -1, "bodySize": 0}}
    document = {"log": {"version": "1.2", "creator": {"name": "x", "version": "1"},
                        "entries": [entry]}}
    with pytest.raises(jsonschema.ValidationError, match="status"):
        valid_har(document)
    entry["response"]["status"] = 200
    valid_har(document)
    entry["request"]["postData"] = {"mimeType": "x", "text": "AA==", "encoding": "base32"}
    with pytest.raises(jsonschema.ValidationError):
        valid_har(document)


# Bodies a receiver meets: JSON, text beyond ASCII, bytes that are not UTF-8, nothing at all.
BODIES = [envelope(), envelope(note="café ✓ 日本"), b"\xff\xfe\x00\x80 not utf-8 \xc3", b""]


async def test_messages_export_as_har_byte_exact(make_app: MakeApp) -> None:
    client = await make_app(dispatcher={"enabled": False}, receiver={"max_body_bytes": 1024})
    sent: dict[int, bytes] = {}
    for body in BODIES:
        headers = signed(body, SECRET) if body.startswith(b"{") else {}
        response = await client.post("/hooks/orders?source=test&empty=", data=body,
                                     headers=headers)
        assert response.status in (200, 400, 401), await response.text()
    auth = await bearer_headers(client)
    listed = await (await client.get("/api/messages", headers=auth)).json()
    for message in listed["messages"]:
        sent[message["id"]] = await (await client.get(f"/api/messages/{message['id']}/body",
                                                      headers=auth)).read()
    assert sorted(sent.values()) == sorted(BODIES)   # what the receiver kept is what was sent
    too_large = b"x" * 2000
    assert (await client.post("/hooks/orders", data=too_large)).status == 413

    response = await client.get("/api/messages/export", params={"format": "har"}, headers=auth)
    assert response.status == 200
    assert response.content_type == "application/json"
    entries = valid_har(json.loads(await response.read()))
    assert len(entries) == len(BODIES) + 1
    by_id = {entry["_hooksim"]["id"]: entry for entry in entries}
    for message_id, body in sent.items():
        request = by_id[message_id]["request"]
        assert body_bytes(request["postData"]) == body
        assert request["bodySize"] == len(body)
        assert ("encoding" in request["postData"]) == (body == BODIES[2])
        assert request["method"] == "POST"
        assert request["url"].endswith("/hooks/orders?source=test&empty=")
        assert request["queryString"] == [{"name": "source", "value": "test"},
                                          {"name": "empty", "value": ""}]
    big = next(e for e in entries if e["_hooksim"]["id"] not in sent)
    assert (big["response"]["status"], big["request"]["bodySize"]) == (413, 2000)
    assert big["_hooksim"]["reason"] == "body_too_large"
    json_entry = next(e for e in entries if body_bytes(e["request"]["postData"]) == BODIES[0])
    assert json_entry["response"]["status"] == 200 and json_entry["response"]["statusText"] == "OK"
    assert {"name": "Toast-Signature", "value": signed(BODIES[0], SECRET)["Toast-Signature"]} in \
        json_entry["request"]["headers"]
    assert json_entry["_hooksim"]["verified"] is True

    # Filters apply as for the other formats; a format it does not know is a 400.
    only = await client.get("/api/messages/export", params={"format": "har", "endpoint": "none"},
                            headers=auth)
    assert valid_har(await only.json()) == []
    wrong = await client.get("/api/messages/export", params={"format": "xml"}, headers=auth)
    assert wrong.status == 400 and (await wrong.json())["error"] == "invalid_input"


async def test_delivery_attempts_export_as_har(make_app: MakeApp, aiohttp_server: Any) -> None:
    clock = FakeClock()
    client: TestClient[Any, Any] = await make_app(clock=clock, dispatcher={"enabled": False})
    auth = await bearer_headers(client)
    target: Target = await target_at(aiohttp_server, 503)
    response = await client.post("/api/subscriptions", headers=auth, json={
        "eventCategory": "stock", "url": target.url, "notificationEmail": "dev@example.com"})
    guid = (await response.json())["guid"]
    assert (await client.post("/api/events", headers=auth,
                              json={"eventCategory": "stock", "count": 2})).status == 202
    await settle(client)
    target.status = 200
    clock.advance(300)
    await settle(client)
    assert len(target.requests) == 4   # two deliveries, each a 503 and then a 200

    response = await client.get(f"/api/subscriptions/{guid}/deliveries/export",
                                params={"format": "har"}, headers=auth)
    assert response.status == 200
    entries = valid_har(json.loads(await response.read()))
    assert len(entries) == 4
    # Each entry's request is what the target got: the exact body and the signed headers.
    got = {(headers["Toast-Signature"], headers["Toast-Attempt-Number"], body)
           for headers, body in target.requests}
    exported = set()
    for entry in entries:
        request = entry["request"]
        headers = {h["name"]: h["value"] for h in request["headers"]}
        exported.add((headers["Toast-Signature"], headers["Toast-Attempt-Number"],
                      body_bytes(request["postData"])))
        assert request["url"] == target.url and request["method"] == "POST"
        number = entry["_hooksim"]["attemptNumber"]
        assert entry["response"]["status"] == {1: 503, 2: 200}[number]
        assert body_bytes(entry["response"]["content"]) == f"answered {entry['response']['status']}".encode()
    assert exported == got
    missing = await client.get("/api/subscriptions/nope/deliveries/export", headers=auth)
    assert missing.status == 404
    assert client.app[ENGINE].in_flight == 0


@pytest.mark.slow
async def test_cli_exports_har(tmp_path: Path) -> None:
    receiver = Receiver(tmp_path)
    try:
        async with aiohttp.ClientSession() as session:
            for body in BODIES[:3]:
                async with session.post(f"{receiver.url}/hooks/orders", data=body,
                                        headers=signed(body) if body.startswith(b"{") else {}):
                    pass
        out = tmp_path / "messages.har"
        result = await asyncio.to_thread(cli, tmp_path, receiver.url, "receiver", "export",
                                         "--format", "har", "--output", str(out))
        assert result.returncode == 0, result.stderr
        entries = valid_har(json.loads(out.read_bytes()))
        assert sorted(body_bytes(e["request"]["postData"]) for e in entries) == sorted(BODIES[:3])
    finally:
        receiver.stop()
