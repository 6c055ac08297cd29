"""``/hooks/{name}``: take a webhook, check it, store it, then answer (or fail on purpose).

The body is read once, as bytes, never more than ``max_body_bytes`` + 1 of it; those bytes are
verified, stored and forwarded. A 2xx goes out only after the message's transaction commits; if
it cannot be stored the answer is 503, which the platform retries. Faults (see faults.py) are
decided before storing, so the record names the injected response, and acted out after.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace
from typing import Literal

import orjson
import structlog
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web import RequestPayloadError

from receiver import envelope
from receiver.running import RECEIVER, Receiver
from receiver.endpoints import NAME_RULE, Endpoint, valid_name
from receiver.envelope import Verdict
from receiver.faults import NO_FAULT, Decision, decide
from receiver.message_json import summary
from storage import StorageError
from storage.messages import NewMessage, ReceivedMessage
from web.routes import verdict_response as error

RESTAURANT_HEADER = "Toast-Restaurant-External-ID"

log = structlog.get_logger("hooksim.receiver")

_READ_CHUNK = 64 * 1024
_HANG_POLL_SECONDS = 0.1  # how often a hanging request looks whether its client has gone


async def handle_hook(request: web.Request) -> web.StreamResponse:
    receiver = request.app[RECEIVER]
    name = request.match_info["name"]
    endpoint = receiver.endpoints.get(name)
    if endpoint is None and not valid_name(name):  # not stored: no endpoint could have this name
        receiver.tell(None, "rejected", "unknown_endpoint")
        return error(404, "unknown_endpoint", f"endpoint names are {NAME_RULE}")
    received_at = receiver.wall()
    decision = NO_FAULT
    if request.method != "POST":
        verdict = Verdict(405, "method_not_allowed", f"{request.method} is not allowed; use POST",
                          body_size=request.content_length or 0)
    elif endpoint is None:
        verdict = Verdict(404, "unknown_endpoint", f"no endpoint named {name!r} is configured",
                          body_size=request.content_length or 0)
    else:
        verdict = await _judge(request, endpoint, receiver.settings.max_body_bytes)
        decision = decide(endpoint.faults, receiver.clock(), receiver.rng)

    answered = _status_answered(verdict, decision)
    forward_to = endpoint.forward_to if endpoint and verdict.accepted and _ok(answered) else ""
    stored: ReceivedMessage | None = None
    if verdict.accepted or receiver.settings.store_rejected:
        try:
            stored = await receiver.committer.submit(
                _record(request, name, received_at, verdict, answered, decision, forward_to))
        except StorageError as exc:
            log.warning("receiver.not_stored", endpoint=name, error=str(exc))
            if verdict.accepted:  # never a 2xx for what is not stored
                receiver.tell(name, "not_stored", "storage_unavailable")
                return error(503, "storage_unavailable", f"message not stored: {exc}")
            receiver.tell(name if endpoint else None, "rejected", verdict.reason or "")
            return _verdict_response(verdict, None)
    _after_commit(receiver, name, verdict, stored, forward_to)
    if receiver.observers:
        receiver.tell(name if endpoint else None, *_verdict_of(verdict, stored))
    return await _act(request, receiver, verdict, decision, stored)


async def _judge(request: web.Request, endpoint: Endpoint, limit: int) -> Verdict:
    try:
        body = await _read_capped(request, limit)
    except (RequestPayloadError, HttpProcessingError, ConnectionError) as exc:  # bad gzip...
        return Verdict(400, "unreadable_body", envelope.clean_text(str(exc), 300))
    if body is None:
        return Verdict(413, "body_too_large", f"the body is larger than {limit} bytes",
                       body_size=max(request.content_length or 0, limit + 1))
    verdict = envelope.check(body, endpoint.secrets, request.headers.get("Toast-Signature"))
    found = verdict.envelope
    if found.restaurant_guid is None and (header := request.headers.get(RESTAURANT_HEADER)):
        # Some categories (packaging) name their restaurant only in the platform's header.
        verdict = replace(verdict, envelope=replace(
            found, restaurant_guid=envelope.clean_text(header, 100)))
    return verdict


async def _read_capped(request: web.Request, limit: int) -> bytes | None:
    """The whole decoded body, or None as soon as it is known to exceed ``limit`` bytes.

    Always read in bounded chunks: with a Content-Encoding, Content-Length is the compressed
    size and aiohttp hands over the decoded stream, so a small gzip body can be a huge one
    (a decompression bomb). aiohttp decodes as it is read, so at most ``limit`` + one chunk
    is ever held; the rest is drained and dropped by aiohttp after the answer."""
    if request.content_length is not None and request.content_length > limit:
        return None   # even the bytes on the wire are too many
    content = request.content
    if content.is_eof() and content.total_bytes <= limit:
        return content.read_nowait()   # all of it has arrived already (most webhooks): take it
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = await content.read(min(_READ_CHUNK, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
    return None


def _status_answered(verdict: Verdict, decision: Decision) -> int | None:
    """The status the client will get; None when it gets none (hang, closed connection)."""
    if decision.action == "status":
        return decision.status
    if decision.action in ("hang", "close"):
        return None
    return verdict.status


def _ok(status: int | None) -> bool:
    return status is not None and 200 <= status < 300


def _record(request: web.Request, name: str, received_at: float, verdict: Verdict,
            answered: int | None, decision: Decision, forward_to: str) -> NewMessage:
    found = verdict.envelope
    return NewMessage(
        endpoint=name, received_at=received_at, remote=request.remote, method=request.method,
        path=envelope.clean_text(request.raw_path, 2000), headers=tuple(request.headers.items()),
        body=verdict.body, body_size=verdict.body_size, event_guid=found.guid,
        category=found.category, event_type=found.event_type,
        restaurant_guid=found.restaurant_guid, verified=verdict.verified, reason=verdict.reason,
        detail=verdict.detail, accepted=verdict.accepted, status=answered,
        fault=decision.describe(), forward_to=forward_to or None)


def _verdict_of(verdict: Verdict, stored: ReceivedMessage | None
                ) -> tuple[Literal["verified", "unverified", "duplicate", "rejected"], str]:
    if not verdict.accepted:
        return "rejected", verdict.reason or ""
    if stored is not None and stored.duplicate:
        return "duplicate", ""
    return ("verified" if verdict.verified else "unverified"), ""


def _after_commit(receiver: Receiver, name: str, verdict: Verdict,
                  stored: ReceivedMessage | None, forward_to: str) -> None:
    if stored is not None:
        if receiver.hub.listening:   # a summary costs as much as verifying the signature
            receiver.hub.publish(summary(stored))
        if forward_to:
            receiver.forwarder.forward(stored, forward_to)
    if not verdict.accepted:   # rare, and what a developer debugging a signature needs to see
        log.info("receiver.rejected", endpoint=name, id=stored.id if stored else None,
                 event_guid=verdict.envelope.guid,
                 status=stored.status if stored else verdict.status, reason=verdict.reason,
                 stored=stored is not None)
    # Accepted messages are logged by the group committer, a line per transaction (per message
    # at debug): a log call per request, even one filtered out, was a measurable cost.


async def _act(request: web.Request, receiver: Receiver, verdict: Verdict, decision: Decision,
               stored: ReceivedMessage | None) -> web.StreamResponse:
    if decision.delay > 0:
        await _wait(receiver.stopping, decision.delay)
    if decision.action == "hang":
        await _hang(request, receiver)
    if decision.action in ("hang", "close"):
        # Closing the transport is aiohttp's way to answer nothing: writing the response below
        # then fails with ConnectionResetError, which aiohttp treats as a client that left.
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=503)
    if decision.action == "status":
        response = _injected(decision)
    else:
        response = _verdict_response(verdict, stored)
    if verdict.reason == "unreadable_body":
        return await _answer_then_close(request, response)
    return response


def _injected(decision: Decision) -> web.Response:
    if decision.status in (204, 304):  # statuses that must not have a body
        return web.Response(status=decision.status)
    return error(decision.status, "injected_fault",
                 f"hooksim fault injection: {decision.describe()}")


async def _answer_then_close(request: web.Request, response: web.Response) -> web.Response:
    """Send ``response`` and close the connection. After a body it could not decode aiohttp
    would otherwise drain the rest of it, meet the same error again and log it as unhandled."""
    response.force_close()
    with contextlib.suppress(ConnectionError):
        await response.prepare(request)
        await response.write_eof()
    request.protocol.force_close()
    return response


def _verdict_response(verdict: Verdict, stored: ReceivedMessage | None) -> web.Response:
    if not verdict.accepted:
        headers = {"Allow": "POST"} if verdict.status == 405 else {}
        return error(verdict.status, verdict.reason or "rejected", verdict.detail or "", **headers)
    assert stored is not None
    return web.Response(body=orjson.dumps({"stored": True, "id": stored.id,
                                           "duplicate": stored.duplicate,
                                           "duplicateCount": stored.duplicate_count}),
                        content_type="application/json", charset="utf-8")


async def _hang(request: web.Request, receiver: Receiver) -> None:
    """Hold the request past any sane client timeout: until the client goes, the receiver stops,
    or ``hang_seconds`` pass (aiohttp does not cancel handlers of clients that left, so look)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + receiver.settings.hang_seconds
    while not receiver.stopping.is_set():
        transport = request.transport
        remaining = deadline - loop.time()
        if transport is None or transport.is_closing() or remaining <= 0:
            return
        await _wait(receiver.stopping, min(_HANG_POLL_SECONDS, remaining))


async def _wait(event: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less if ``event`` is set."""
    # asyncio.timeout, not wait_for: 3.11's wait_for can leave a cancelled caller hanging.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
