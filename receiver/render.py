"""JSON shapes of the receiver's answers: errors, message summaries and details, times."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from storage.messages import MessageSummary, ReceivedMessage


def error(status: int, code: str, detail: str, **headers: str) -> web.Response:
    """Every error the receiver gives: ``{"error": code, "detail": text}``."""
    return web.json_response({"error": code, "detail": detail}, status=status, headers=headers)


def iso(ts: float | None) -> str | None:
    """Epoch seconds as ISO-8601 UTC with milliseconds and 'Z', e.g. 2024-03-28T15:11:01.050Z."""
    if ts is None:
        return None
    moment = datetime.fromtimestamp(ts, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


_EPOCH = re.compile(r"[0-9]{1,12}(\.[0-9]{1,9})?")   # as docs/openapi.yaml's ReceivedTime


def parse_time(text: str) -> float:
    """Epoch seconds from ISO-8601 (no zone = UTC) or plain epoch seconds (digits, an optional
    fraction: no sign, exponent, nan or inf); ValueError otherwise."""
    if _EPOCH.fullmatch(text):
        return float(text)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def summary(message: MessageSummary) -> dict[str, Any]:
    """What lists, the live stream and `receiver tail` show of a message."""
    return {
        "id": message.id,
        "receivedAt": iso(message.received_at),
        "endpoint": message.endpoint,
        "eventGuid": message.event_guid,
        "category": message.category,
        "type": message.event_type,
        "restaurantGuid": message.restaurant_guid,
        "verified": message.verified,
        "reason": message.reason,
        "accepted": message.accepted,
        "duplicate": message.duplicate,
        "duplicateCount": message.duplicate_count,
        "status": message.status,
        "fault": message.fault,
        "remote": message.remote,
        "method": message.method,
        "bodySize": message.body_size,
        "forward": None if not message.forward_to else {
            "to": message.forward_to,
            "status": message.forward_status,
            "error": message.forward_error,
            "at": iso(message.forwarded_at),
        },
    }


def detail(message: ReceivedMessage) -> dict[str, Any]:
    """A message in full: headers as received, the body as text when it is UTF-8, and always
    base64 of the exact bytes."""
    try:
        text: str | None = message.body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    return {
        **summary(message),
        "detail": message.detail,
        "path": message.path,
        "headers": [list(pair) for pair in message.headers],
        "body": text,
        "bodyBase64": base64.b64encode(message.body).decode("ascii"),
    }
