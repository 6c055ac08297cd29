"""JSON shapes of stored messages: summaries (lists, the live stream) and details."""

from __future__ import annotations

import base64
from typing import Any

from storage.messages import MessageSummary, ReceivedMessage
from web.times import iso_or_none as iso


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
