"""structlog set-up, done once at start: JSON lines when not a terminal, console output when it is.

The standard library's loggers (aiohttp's among them) go through the same processors via
``ProcessorFormatter``, so every line has one shape and the same secret redaction.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

REDACTED = "[redacted]"
# Any key containing one of these is never written out (secrets, signatures, tokens, passwords).
_SENSITIVE = ("secret", "signature", "token", "password", "authorization", "cookie")


def redact_secrets(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if any(word in key.lower() for word in _SENSITIVE):
            event_dict[key] = REDACTED
    return event_dict


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
        renderer = structlog.processors.JSONRenderer()
        shared.append(structlog.processors.format_exc_info)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=stream.isatty())
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
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
    root.setLevel(level.upper())
    # aiohttp's access log is one line per request: useful at debug, noise otherwise.
    logging.getLogger("aiohttp.access").setLevel("DEBUG" if level == "debug" else "WARNING")
    # aiosqlite logs every statement with its parameters (secrets among them) at DEBUG.
    logging.getLogger("aiosqlite").setLevel("INFO")
