"""structlog set-up, done once at start: JSON lines when not a terminal, console output when it is.

hooksim's own events take structlog's fast path: a level-filtering bound logger (a disabled level
costs one method call, nothing is built) writing straight to the stream, JSON rendered by orjson.
When the receiver and the dispatcher logged a line per message at info, the stdlib route cost
~35 µs a line (15 µs even when filtered out): a third of the receiver's time per request. They
now log one info line per transaction and the per-message lines at debug, which this path skips
for the price of a call.
The standard library's loggers (aiohttp's among them) still go through the same processors via
``ProcessorFormatter``, so every line has one shape and the same secret redaction.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import orjson
import structlog
from aiohttp.http_exceptions import HttpProcessingError

REDACTED = "[redacted]"
# Any key containing one of these is never written out (secrets, signatures, tokens, passwords;
# a PostgreSQL DSN may hold a password).
_SENSITIVE = ("secret", "signature", "token", "password", "authorization", "cookie", "dsn")


@functools.lru_cache(maxsize=4096)
def _is_sensitive(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in _SENSITIVE)


def redact_secrets(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in event_dict:
        if _is_sensitive(key):
            event_dict[key] = REDACTED
    return event_dict


class _NamedLogger(structlog.WriteLogger):
    """structlog's plain writer, plus the name it was asked for (``add_logger_name`` reads it)."""

    def __init__(self, file: TextIO, name: str) -> None:
        super().__init__(file)
        self.name = name


def _json(event_dict: Any, **_: Any) -> str:
    # OPT_NON_STR_KEYS and default=str: a log line never fails on what it was given.
    return orjson.dumps(event_dict, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


def configure_logging(level: str = "info", fmt: str = "auto", stream: TextIO | None = None) -> None:
    """Configure structlog and stdlib logging. ``fmt`` is ``auto``, ``json`` or ``console``."""
    stream = stream or sys.stderr
    if fmt == "auto":
        fmt = "console" if stream.isatty() else "json"
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]
    renderer: Any
    if fmt == "json":
        shared.append(structlog.processors.format_exc_info)
        renderer = structlog.processors.JSONRenderer(serializer=_json)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=stream.isatty())
    numeric_level = logging.getLevelName(level.upper())
    structlog.configure(
        processors=[*shared, renderer],
        logger_factory=lambda name="hooksim", *_: _NamedLogger(stream, name),
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric_level)
    server = logging.getLogger("aiohttp.server")
    for old in [f for f in server.filters if isinstance(f, MalformedRequestsAreWarnings)]:
        server.removeFilter(old)
    server.addFilter(MalformedRequestsAreWarnings())
    # aiohttp's access log is one line per request: useful at debug, noise otherwise.
    logging.getLogger("aiohttp.access").setLevel("DEBUG" if level == "debug" else "WARNING")
    # aiosqlite logs every statement with its parameters (secrets among them) at DEBUG.
    logging.getLogger("aiosqlite").setLevel("INFO")


class MalformedRequestsAreWarnings(logging.Filter):
    """aiohttp logs every request its parser refuses (bad request line, header, chunk, encoding)
    at ERROR with a traceback, though it already answered a 4xx: the client's mistake, not the
    server's. Such a record becomes one warning line, ``malformed request from <address>: <why>``,
    with only the parser's first line of explanation (the rest quotes the request's bytes, which
    may hold a token). Anything else, a 5xx included, keeps its level and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, HttpProcessingError) or not 400 <= (exc.code or 0) < 500:
            return True
        remote = record.args[0] if isinstance(record.args, tuple) and record.args else None
        why = ((exc.message or "").strip() or type(exc).__name__).splitlines()[0][:200]
        record.msg, record.args = "malformed request from %s: %s (%s)", (remote, why, exc.code)
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.exc_info = record.exc_text = None
        return logging.getLogger().isEnabledFor(logging.WARNING)
