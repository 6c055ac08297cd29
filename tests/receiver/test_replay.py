"""receiver replay: stored messages sent again in arrival order, byte-exact or re-signed, at
their spacing or compressed."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest

import signing
from hooksim.testkit import Receiver
from receiver.replay import ReplayError, Stored, headers_for, parse_export, schedule
from tests.endpoints import run_cli

OLD, NEW = "secret-of-the-sandbox-0123456789", "secret-of-the-new-app-0123456789"


def stored(i: int, at: float, body: bytes = b'{"timestamp":"t","guid":"g"}') -> Stored:
    return Stored(i, "orders", at, "POST",
                  (("Host", "x"), ("Content-Length", "9"), ("Toast-Signature", "orig"),
                   ("Toast-Event-Type", "order_updated")), body)


def test_the_schedule_keeps_the_spacing_or_compresses_it() -> None:
    messages = [stored(1, 100.0), stored(2, 100.3), stored(3, 160.3)]
    assert schedule(messages, 1) == pytest.approx([0.0, 0.3, 60.3])
    assert schedule(messages, 10) == pytest.approx([0.0, 0.03, 6.03])
    assert schedule(messages, float("inf")) == [0.0, 0.0, 0.0]


def test_headers_are_the_originals_or_re_signed() -> None:
    message = stored(1, 0.0)
    exact = headers_for(message, None)
    assert exact["Toast-Signature"] == "orig" and "Host" not in exact and "Content-Length" not in exact
    signed = headers_for(message, NEW)
    assert signed.getall("Toast-Signature") == [signing.sign(NEW, message.body, "t")]
    with pytest.raises(ReplayError, match="cannot be re-signed"):
        headers_for(stored(2, 0.0, b"not json"), NEW)


def test_an_export_is_read_in_arrival_order_and_bad_lines_are_refused() -> None:
    line = {"id": 7, "endpoint": "e", "receivedAt": "2024-03-28T15:11:01.050Z", "method": "POST",
            "headers": [["Toast-Signature", "s"]], "bodyBase64": "e30="}
    later = {**line, "id": 8, "receivedAt": "2024-03-28T15:11:02.000Z"}
    messages = parse_export([json.dumps(later), "", json.dumps(line)])   # exported newest first
    assert [m.id for m in messages] == [7, 8] and messages[0].body == b"{}"
    with pytest.raises(ReplayError, match="line 1"):
        parse_export(['{"id": 1}'])


async def test_replay_byte_exact_and_re_signed(tmp_path: Path) -> None:
    bodies = [json.dumps({"timestamp": f"2024-03-28T15:11:0{i}.000Z", "eventCategory": "menus",
                          "eventType": "menus_updated", "guid": f"g-{i}",
                          "details": {"name": "Café"}}, indent=i).encode() for i in range(3)]
    async with Receiver.started(tmp_path / "sandbox.db", OLD) as sandbox, \
            Receiver.started(tmp_path / "same.db", OLD) as same, \
            Receiver.started(tmp_path / "new.db", NEW) as new:
        async with aiohttp.ClientSession() as session:
            for body in bodies:   # what arrived through the tunnel
                timestamp = json.loads(body)["timestamp"]
                async with session.post(sandbox.url("orders"), data=body, headers={
                        "Toast-Signature": signing.sign(OLD, body, timestamp),
                        "Toast-Event-Type": "menus_updated", "Content-Type": "application/json"}) as r:
                    assert r.status == 200
            async with session.get(f"{sandbox.base_url}/api/messages/export",
                                   params={"format": "jsonl"}) as r:
                export = tmp_path / "sandbox.jsonl"
                export.write_text(await r.text())

        code, out, err = await run_cli("receiver", "replay", "--from", str(export),
                                       "--to", same.url("orders"), "--speed", "max")
        assert code == 0, out + err
        assert "3/3 answered 2xx" in out
        replayed = await same.messages("orders")
        assert [m.body for m in replayed] == bodies            # the exact bytes, in order
        assert all(m.verified for m in replayed)

        code, out, _ = await run_cli("receiver", "replay", "--from", str(export),
                                     "--to", new.url("orders"), "--speed", "max")
        assert code == 1 and "0/3 answered 2xx" in out and ": 401 after" in out

        code, out, err = await run_cli("receiver", "replay", "--from", str(export), "--to",
                                       new.url("orders"), "--secret", NEW, "--speed", "100")
        assert code == 0, out + err
        resigned = [m for m in await new.messages("orders") if m.verified]
        assert [m.body for m in resigned] == bodies


@pytest.mark.parametrize(("args", "message"), [
    (["--speed", "0"], "--speed must be a positive number or max"),
    (["--speed", "fast"], "--speed must be a positive number or max"),
    (["--to", "ftp://x"], "--to must be an http or https URL"),
    (["--from", "/no/such/file.jsonl"], "cannot read /no/such/file.jsonl"),
])
async def test_bad_usage_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    base = {"--to": "http://127.0.0.1:9/hooks/x", "--from": "/dev/null"}
    for flag, value in zip(args[::2], args[1::2]):
        base[flag] = value
    code, _, err = await run_cli("receiver", "replay", *[x for pair in base.items() for x in pair])
    assert code == 2 and message in err and "Traceback" not in err


@pytest.mark.slow
async def test_replay_reads_a_running_receivers_messages(tmp_path: Path) -> None:
    """Without --from: the messages of the running `hooksim receive`, through its API."""
    from tests.receiver.conftest import SECRET, envelope, signed
    from tests.receiver.test_cli import Receiver as ReceiveProcess, cli

    process = await asyncio.to_thread(ReceiveProcess, tmp_path)
    try:
        bodies = [envelope(guid=f"00000000-0000-4000-8000-00000000000{i}") for i in range(2)]
        async with aiohttp.ClientSession() as session:
            for body in bodies:
                async with session.post(f"{process.url}/hooks/orders", data=body,
                                        headers=signed(body)) as response:
                    assert response.status == 200
        async with Receiver.started(tmp_path / "sink.db", SECRET) as sink:
            result = await asyncio.to_thread(cli, tmp_path, process.url, "receiver", "replay",
                                             "--to", sink.url("copy"), "--endpoint", "orders",
                                             "--speed", "max")
            assert result.returncode == 0, result.stdout + result.stderr
            got = await sink.messages("copy")
            assert [m.body for m in got] == bodies and all(m.verified for m in got)
    finally:
        await asyncio.to_thread(process.stop)
