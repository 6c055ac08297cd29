"""The inspection API: filters, keyset pages, detail, clearing, export, live stream, retention."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from hooksim.app import build_receiver_app
from hooksim.settings import AuthSettings, Settings
from receiver import prune_once
from storage import messages
from storage.settings import StorageSettings
from tests.auth.helpers import SAMPLE_SEGMENT, assert_api_routes_guarded, bearer_headers
from tests.receiver.conftest import Harness, MakeReceiver, envelope, signed


async def fill(h: Harness) -> None:
    """orders: 3 menus (one duplicate) and 1 stock; open: 1 unverified; 1 rejected."""
    for body in (envelope(guid="m1"), envelope(guid="m2", note="needle in a haystack"),
                 envelope(guid="m1"), envelope(guid="s1", category="stock",
                                               event_type="low_quantity")):
        assert (await h.post("orders", body, signed(body)))[0] == 200
    assert (await h.post("open", envelope(guid="o1")))[0] == 200
    assert (await h.post("orders", envelope(guid="bad")))[0] == 401


async def guids(h: Harness, **params: Any) -> list[str]:
    return [m["eventGuid"] for m in (await h.get("/api/messages", **params))["messages"]]


async def test_filters(make_receiver: MakeReceiver) -> None:
    h = await make_receiver()
    await fill(h)
    assert await guids(h) == ["bad", "o1", "s1", "m1", "m2", "m1"]
    assert await guids(h, endpoint="open") == ["o1"]
    assert await guids(h, category="stock") == ["s1"]
    assert await guids(h, type="menus_updated", endpoint="orders") == ["bad", "m1", "m2", "m1"]
    assert await guids(h, verified="true") == ["s1", "m1", "m2", "m1"]
    assert await guids(h, verified="false") == ["bad"]
    assert await guids(h, duplicate="true") == ["m1"]
    assert await guids(h, q="NEEDLE") == ["m2"]
    everything = (await h.get("/api/messages"))["messages"]
    cut = everything[2]["receivedAt"]
    assert await guids(h, **{"from": cut}) == ["bad", "o1", "s1"]
    assert await guids(h, to=cut) == ["m1", "m2", "m1"]


async def test_cursor_pages_cover_everything_once(make_receiver: MakeReceiver) -> None:
    h = await make_receiver()
    await fill(h)
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 4}
    while True:
        page = await h.get("/api/messages", **params)
        seen += [m["eventGuid"] for m in page["messages"]]
        if page["nextCursor"] is None:
            break
        params["cursor"] = page["nextCursor"]
    assert seen == await guids(h)


async def test_filtered_pages_read_a_bounded_window_and_miss_nothing(
        make_receiver: MakeReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
    # With 2 messages read per page, a filter gives short (even empty) pages with a cursor to
    # go on from; following it finds every match, in order, and the export finds them too.
    monkeypatch.setattr(messages, "SCAN_LIMIT", 2)
    h = await make_receiver()
    await fill(h)
    pages: list[list[str]] = []
    params: dict[str, Any] = {"limit": 5, "verified": "true"}
    while True:
        page = await h.get("/api/messages", **params)
        pages.append([m["eventGuid"] for m in page["messages"]])
        if page["nextCursor"] is None:
            break
        params["cursor"] = page["nextCursor"]
    assert pages == [[], ["s1", "m1"], ["m2", "m1"], []]
    async with h.client.get("/api/messages/export", params={"verified": "true"}) as response:
        exported = [json.loads(line)["eventGuid"] for line in (await response.text()).splitlines()]
    assert exported == ["s1", "m1", "m2", "m1"]


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "x"}, {"limit": "1001"},
                                    {"cursor": "!!"}, {"cursor": "Zm9v"}, {"verified": "maybe"},
                                    {"duplicate": "2"}, {"from": "yesterday"}])
async def test_bad_parameters_are_400(make_receiver: MakeReceiver, params: dict[str, str]) -> None:
    h = await make_receiver()
    async with h.client.get("/api/messages", params=params) as response:
        assert response.status == 400
        assert (await response.json())["error"] == "invalid_input"


async def test_detail_and_missing(make_receiver: MakeReceiver) -> None:
    h = await make_receiver()
    await h.post("open", b"\xff\x00 raw")
    detail = await h.get("/api/messages/1")
    assert detail["body"] is None and detail["bodyBase64"] == "/wAgcmF3"
    assert detail["reason"] == "not_json" and detail["path"] == "/hooks/open"
    for path in ("/api/messages/99", "/api/messages/99/body"):
        async with h.client.get(path) as response:
            assert response.status == 404
            assert (await response.json())["error"] == "not_found"


async def test_delete_one_endpoint_or_all(make_receiver: MakeReceiver) -> None:
    h = await make_receiver()
    await fill(h)
    async with h.client.delete("/api/messages", params={"endpoint": "open"}) as response:
        assert await response.json() == {"deleted": 1}
    async with h.client.delete("/api/messages") as response:
        assert await response.json() == {"deleted": 5}
    assert await guids(h) == []


async def test_export_jsonl_and_csv(make_receiver: MakeReceiver) -> None:
    h = await make_receiver()
    await fill(h)
    async with h.client.get("/api/messages/export", params={"endpoint": "orders"}) as response:
        lines = (await response.text()).splitlines()
    rows = [json.loads(line) for line in lines]
    assert [r["eventGuid"] for r in rows] == ["bad", "s1", "m1", "m2", "m1"]
    assert rows[0]["headers"] and rows[0]["body"].startswith("{")
    async with h.client.get("/api/messages/export", params={"format": "csv"}) as response:
        assert response.headers["Content-Type"].startswith("text/csv")
        table = list(csv.DictReader(io.StringIO(await response.text())))
    assert [r["eventGuid"] for r in table] == ["bad", "o1", "s1", "m1", "m2", "m1"]
    assert table[1]["verified"] == "" and table[0]["verified"] == "False"
    async with h.client.get("/api/messages/export", params={"format": "xml"}) as response:
        assert response.status == 400


async def read_events(response: Any, count: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    while len(events) < count:
        line = (await response.content.readline()).decode()
        if line.startswith("data: "):
            events.append(json.loads(line[len("data: "):]))
    return events


async def test_the_stream_sends_each_stored_message(make_receiver: MakeReceiver) -> None:
    h = await make_receiver()
    async with h.client.get("/api/messages/stream") as everything, \
            h.client.get("/api/messages/stream", params={"endpoint": "open"}) as only_open:
        assert everything.headers["Content-Type"] == "text/event-stream"
        assert await everything.content.readline() == b": connected\n"
        await fill(h)
        events = await asyncio.wait_for(read_events(everything, 6), 5)
        opened = await asyncio.wait_for(read_events(only_open, 1), 5)
    assert [e["eventGuid"] for e in events] == ["m1", "m2", "m1", "s1", "o1", "bad"]
    assert {"id", "receivedAt", "endpoint", "eventGuid", "category", "type", "restaurantGuid",
            "verified", "reason", "duplicate", "status"} <= set(events[0])
    assert events[2]["duplicate"] is True and events[5]["verified"] is False
    assert [e["eventGuid"] for e in opened] == ["o1"]
    for _ in range(100):  # the clients left: their subscriptions go, without errors
        if not h.receiver.hub._subscribers:
            break
        await asyncio.sleep(0.02)
    assert not h.receiver.hub._subscribers


async def test_retention_prunes_oldest_by_count_and_age(make_receiver: MakeReceiver) -> None:
    now = [1_700_000_000.0]
    h = await make_receiver(max_messages=3, max_age_seconds=60, wall=lambda: now[0])
    for _ in range(5):
        await h.post("open", envelope())
        now[0] += 10
    assert await prune_once(h.receiver) == 2
    assert len((await h.get("/api/messages"))["messages"]) == 3
    now[0] += 35  # the oldest remaining is now 65 s old
    assert await prune_once(h.receiver) == 1


async def test_standalone_app_guards_the_api_but_not_the_hooks(
        aiohttp_client: Any, tmp_path: Path, storage_settings: StorageSettings) -> None:
    settings = Settings(storage=storage_settings,
                        auth=AuthSettings(credentials_file=str(tmp_path / "cred.json")))
    app: web.Application = build_receiver_app(settings)
    client = await aiohttp_client(app)
    async with client.post("/hooks/orders", data=envelope()) as response:
        assert response.status == 404  # no auto endpoints in these settings; reached the hook
    checked = await assert_api_routes_guarded(app, client)
    assert ("PUT", f"/api/receiver/endpoints/{SAMPLE_SEGMENT}/faults") in checked
    assert ("GET", "/api/messages/stream") in checked
    async with client.get("/api/messages", headers=await bearer_headers(client)) as response:
        assert response.status == 200


async def test_open_streams_end_at_shutdown_without_holding_it(make_receiver: MakeReceiver) -> None:
    h = await make_receiver()
    async with h.client.get("/api/messages/stream") as response:
        await response.content.readline()
        started = asyncio.get_running_loop().time()
        await h.client.server.close()
        assert asyncio.get_running_loop().time() - started < 2
        assert (await response.content.read()).strip() == b""


# What docs/openapi.yaml now promises (issue 17, item 7); Schemathesis checks the same from
# outside in tests/conformance.
async def test_any_non_id_under_messages_is_a_json_404(make_receiver: MakeReceiver) -> None:
    h = await make_receiver()
    for path in ("-1", "abc", "1.5", "99999999999999999999999", "%C2%B2", "0"):
        for tail in ("", "/body"):
            async with h.client.get(f"/api/messages/{path}{tail}") as response:
                assert response.status == 404, path
                assert (await response.json())["error"] == "not_found"


async def test_a_cursor_is_time_and_id_and_any_such_text_is_a_position(
        make_receiver: MakeReceiver) -> None:
    h = await make_receiver()
    for _ in range(3):
        await h.post("open", envelope())
    first = await h.get("/api/messages", limit=2)
    at, _, ident = first["nextCursor"].partition(":")
    assert float(at) > 0 and int(ident) == first["messages"][-1]["id"]
    made_up = await h.get("/api/messages", cursor="1e+22:999999999999999999")
    assert len(made_up["messages"]) == 3          # a position after all of them: everything
    assert (await h.get("/api/messages", cursor="0.5:1"))["messages"] == []


async def test_empty_time_filters_are_no_bound_and_epoch_seconds_are_plain(
        make_receiver: MakeReceiver) -> None:
    h = await make_receiver()
    await h.post("open", envelope())
    assert len((await h.get("/api/messages", **{"from": "", "to": ""}))["messages"]) == 1
    for junk in ("-1", "1e5", "nan", "inf", "+5"):
        async with h.client.get("/api/messages", params={"from": junk}) as response:
            assert response.status == 400, junk


async def test_an_integral_float_is_an_integer_in_faults(make_receiver: MakeReceiver) -> None:
    h = await make_receiver()
    async with h.client.put("/api/receiver/endpoints/open/faults",
                            json={"status": 503.0, "delayMs": 0.0}) as response:
        assert response.status == 200
        assert (await response.json())["faults"]["status"] == 503
    async with h.client.put("/api/receiver/endpoints/open/faults",
                            json={"status": 503.5}) as response:
        assert response.status == 400
