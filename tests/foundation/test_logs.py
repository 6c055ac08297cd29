"""Logging: JSON lines off a terminal, secrets never written, stdlib loggers in the same pipeline."""

from __future__ import annotations

import io
import json
import logging

import structlog

from hooksim.logs import configure_logging


def test_json_lines_with_redaction_and_stdlib_routing() -> None:
    stream = io.StringIO()
    configure_logging("info", "auto", stream=stream)
    try:
        structlog.get_logger("t").info("delivery.attempt", secret="s3cr3t", client_secret="c",
                                       signature="sig", access_token="tkn-9f8e7d", attempt=2,
                                       storage_dsn="postgresql://u:pg-pw@h/db")
        logging.getLogger("aiohttp.server").warning("stdlib says %s", "hello")
        structlog.get_logger("t").debug("hidden.at.info")
    finally:
        structlog.reset_defaults()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["event"] for line in lines] == ["delivery.attempt", "stdlib says hello"]
    first = lines[0]
    assert first["attempt"] == 2 and first["level"] == "info" and "timestamp" in first
    for key in ("secret", "client_secret", "signature", "access_token", "storage_dsn"):
        assert first[key] == "[redacted]"
    assert "s3cr3t" not in stream.getvalue() and "tkn-9f8e7d" not in stream.getvalue()
    assert "pg-pw" not in stream.getvalue()
    assert lines[1]["logger"] == "aiohttp.server"


def test_hooksim_events_name_their_logger_and_never_fail_on_odd_values() -> None:
    stream = io.StringIO()
    configure_logging("warning", "json", stream=stream)
    try:
        log = structlog.get_logger("hooksim.receiver")
        log.info("filtered.out", secret="s3cr3t")
        log.warning("kept", when=object(), raw=b"\xff", number={1: "non-text key"})
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed", attempt=3)
    finally:
        structlog.reset_defaults()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["event"] for line in lines] == ["kept", "failed"]
    assert {line["logger"] for line in lines} == {"hooksim.receiver"}
    assert lines[0]["number"] == {"1": "non-text key"} and "object" in lines[0]["when"]
    assert lines[1]["level"] == "error" and "ValueError: boom" in lines[1]["exception"]
    assert "s3cr3t" not in stream.getvalue()


def test_console_lines_are_redacted_too() -> None:
    stream = io.StringIO()
    configure_logging("debug", "console", stream=stream)
    try:
        structlog.get_logger("hooksim.auth").debug("auth.login", client_secret="hunter2", n=1)
    finally:
        structlog.reset_defaults()
    text = stream.getvalue()
    assert "auth.login" in text and "hooksim.auth" in text and "n=1" in text
    assert "hunter2" not in text and "[redacted]" in text


# Requests aiohttp's parser refuses before any handler runs (issue 17: each was an ERROR line
# with a full traceback, 3 MB of a 7.4 MB fuzz log).
MALFORMED = [
    b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n",
    b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"GET /x HTTP/1.1\r\nHost: a\r\nX-Bad: a\x01b\r\n\r\n",
    b"GET /x HTTP/1.1\r\nHost: a\r\nX-Token: Bearer tkn-9f8e7d\x00\r\n\r\n",
    b"GET /x HTTP/9.9\r\nHost: a\r\n\r\n",
    b"GET / HTTP/1.1\r\n" + b"X-Long: " + b"a" * 20_000 + b"\r\n\r\n",
]


async def test_malformed_requests_are_one_warning_line_without_traceback() -> None:
    import asyncio

    from aiohttp import web
    from aiohttp.test_utils import TestServer

    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("a real bug")

    app = web.Application()
    app.router.add_route("*", "/x", boom)
    stream = io.StringIO()
    configure_logging("info", "json", stream=stream)
    try:
        async with TestServer(app) as server:
            answers = []
            for raw in [*MALFORMED, b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n"]:
                reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
                writer.write(raw)
                await writer.drain()
                answers.append(await reader.read(100))
                writer.close()
    finally:
        structlog.reset_defaults()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert all(a[:12] in (b"HTTP/1.0 400", b"HTTP/1.1 400") for a in answers[:-1]), answers
    assert answers[-1].startswith(b"HTTP/1.1 500")
    warnings = [line for line in lines if line["event"].startswith("malformed request from")]
    assert len(warnings) == len(MALFORMED), lines
    for line in warnings:
        assert line["level"] == "warning" and "exception" not in line
        assert "\n" not in line["event"] and "127.0.0.1" in line["event"]
    assert "tkn-9f8e7d" not in stream.getvalue()
    [bug] = [line for line in lines if line["level"] == "error"]   # a real 500 keeps its trace
    assert "RuntimeError: a real bug" in bug["exception"]
