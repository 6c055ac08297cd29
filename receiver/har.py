"""The receiver's messages as HAR 1.2 (storage.har): each request as it arrived (headers in
order, the body's exact bytes) and the status hooksim answered; the ``_hooksim`` field of each
entry says what the receiver made of it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from http import HTTPStatus
from typing import Any

from aiohttp import web

from receiver.message_json import iso
from storage.har import (HAR_CONTENT_TYPE, HAR_END, har_entry, har_request, har_response,
                         har_start, har_timed_entry, header)
from storage.messages import ReceivedMessage


def message_entry(message: ReceivedMessage) -> dict[str, Any]:
    headers = list(message.headers)
    url = f"http://{header(headers, 'Host', '127.0.0.1')}{message.path}"
    status = message.status
    if status is None:
        status_text, comment = "", f"no answer (fault: {message.fault})"
    else:
        status_text = _phrase(status)
        comment = "hooksim keeps the status it answered, not the answer's headers or body"
    kept = message.body_size if len(message.body) != message.body_size else None
    return har_timed_entry(
        message.received_at, 0.0,
        har_request(message.method, url, headers, message.body, kept),
        har_response(status, status_text, [], b"", "", comment),
        serverIPAddress="127.0.0.1",
        _hooksim={"id": message.id, "endpoint": message.endpoint, "remote": message.remote,
                  "receivedAt": iso(message.received_at), "verified": message.verified,
                  "accepted": message.accepted, "reason": message.reason,
                  "detail": message.detail, "duplicate": message.duplicate,
                  "duplicateCount": message.duplicate_count, "fault": message.fault,
                  "eventGuid": message.event_guid})


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


async def stream_har(request: web.Request, messages: AsyncIterator[ReceivedMessage]
                     ) -> web.StreamResponse:
    """Every message as one HAR document, written as it is read."""
    response = web.StreamResponse(headers={
        "Content-Type": HAR_CONTENT_TYPE,
        "Content-Disposition": 'attachment; filename="messages.har"'})
    await response.prepare(request)
    await response.write(har_start("messages received by hooksim"))
    first = True
    async for message in messages:
        await response.write(har_entry(message_entry(message), first))
        first = False
    await response.write(HAR_END)
    await response.write_eof()
    return response
