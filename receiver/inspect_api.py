"""Inspection API: list, read, clear, export and follow stored messages; set endpoint faults.

Bearer-token access is the auth middleware's job (hooksim/auth.py), not this module's.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web import RequestPayloadError

from receiver.core import RECEIVER
from receiver.endpoints import Endpoint
from receiver.envelope import clean_text
from receiver.faults import current_phase
from receiver.har import stream_har
from receiver.render import detail, error, parse_time, summary
from receiver.settings import FaultSettings
from receiver.stream import serve_events
from storage import NotFound
from storage import query as pages
from storage.messages import Cursor, MessageQuery, ReceivedMessage
from storage.web import unavailable_is_503

MAX_LIMIT = 1000
_BOOLS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
_VERIFIED = {"true": "yes", "yes": "yes", "1": "yes", "false": "no", "no": "no", "0": "no",
             "unchecked": "unchecked", "none": "unchecked"}
_CSV_COLUMNS = ("id", "receivedAt", "endpoint", "eventGuid", "category", "type", "restaurantGuid",
                "verified", "reason", "duplicate", "status", "fault", "bodySize", "body")


class BadParameter(Exception):
    def __init__(self, name: str, detail: str) -> None:
        super().__init__(f"{name}: {detail}")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/messages", unavailable_is_503(list_messages))
    app.router.add_delete("/api/messages", unavailable_is_503(delete_messages))
    app.router.add_get("/api/messages/export", unavailable_is_503(export_messages))
    app.router.add_get("/api/messages/stream", stream_messages)
    app.router.add_get("/api/messages/{id}", unavailable_is_503(get_message))
    app.router.add_get("/api/messages/{id}/body", unavailable_is_503(get_body))
    app.router.add_get("/api/receiver/endpoints", list_endpoints)
    app.router.add_get("/api/receiver/endpoints/{name}", get_endpoint)
    app.router.add_put("/api/receiver/endpoints/{name}/faults", put_faults)


def parse_query(params: Mapping[str, str], with_paging: bool = True) -> MessageQuery:
    """A MessageQuery from the query string; BadParameter names the offending parameter."""
    def choice(name: str, table: Mapping[str, Any]) -> Any:
        if name not in params:
            return None
        try:
            return table[params[name].lower()]
        except KeyError:
            raise BadParameter(name, f"expected one of {', '.join(sorted(table))}") from None

    def when(name: str) -> float | None:
        if not params.get(name):   # absent or empty: no bound, as everywhere in the API
            return None
        try:
            return parse_time(params[name])
        except ValueError:
            raise BadParameter(name, "expected ISO-8601 (2024-03-28T15:11:01Z) or epoch seconds")

    limit, cursor = 50, None
    if with_paging:
        try:
            limit = int(params.get("limit", "50"))
        except ValueError:
            limit = 0
        if not 1 <= limit <= MAX_LIMIT:
            raise BadParameter("limit", f"expected a whole number 1-{MAX_LIMIT}")
        cursor = decode_cursor(params["cursor"]) if params.get("cursor") else None
    def stored_as(name: str) -> str | None:
        # Compared with the columns as the receiver wrote them (NUL and lone surrogates escaped).
        return clean_text(params[name]) if params.get(name) else None

    text = params.get("q") or None
    if text is not None and "\x00" in text:
        raise BadParameter("q", "cannot contain NUL: bodies are searched up to their first NUL")
    return MessageQuery(
        endpoint=stored_as("endpoint"), category=stored_as("category"),
        event_type=stored_as("type"), verified=choice("verified", _VERIFIED),
        duplicate=choice("duplicate", _BOOLS), since=when("from"), until=when("to"),
        text=text, limit=limit, cursor=cursor)


def encode_cursor(cursor: Cursor) -> str:
    return pages.encode_cursor((cursor.received_at, cursor.id))


def decode_cursor(text: str) -> Cursor:
    try:
        return Cursor(*pages.decode_cursor(text))
    except ValueError:
        raise BadParameter("cursor", "not a cursor this API gave out (<time>:<id>)") from None


async def list_messages(request: web.Request) -> web.Response:
    try:
        query = parse_query(request.query)
    except BadParameter as exc:
        return error(400, "bad_parameter", str(exc))
    page = await request.app[RECEIVER].store.find(query)
    return web.json_response({
        "messages": [summary(m) for m in page.messages],
        "nextCursor": encode_cursor(page.next_cursor) if page.next_cursor else None,
    })


_MAX_ID = 2**63 - 1   # the widest id either backend stores


async def _message(request: web.Request) -> ReceivedMessage:
    """The message named by the path, or NotFound (also for what can be no id: -1, abc)."""
    text = request.match_info["id"]
    if not (text.isascii() and text.isdigit() and int(text) <= _MAX_ID):
        raise NotFound(f"no message {clean_text(text, 40)!r}: ids are whole numbers")
    return await request.app[RECEIVER].store.get(int(text))


async def get_message(request: web.Request) -> web.Response:
    try:
        message = await _message(request)
    except NotFound as exc:
        return error(404, "not_found", str(exc))
    return web.json_response(detail(message))


async def get_body(request: web.Request) -> web.Response:
    """The exact bytes received, for ``curl -o`` and byte-for-byte comparisons."""
    try:
        message = await _message(request)
    except NotFound as exc:
        return error(404, "not_found", str(exc))
    return web.Response(body=message.body, content_type="application/octet-stream")


async def delete_messages(request: web.Request) -> web.Response:
    endpoint = clean_text(request.query["endpoint"]) if request.query.get("endpoint") else None
    deleted = await request.app[RECEIVER].store.delete(endpoint)
    return web.json_response({"deleted": deleted})


async def export_messages(request: web.Request) -> web.StreamResponse:
    """Every matching message, streamed: JSON lines (full detail), CSV (summary and body) or
    HAR 1.2 (receiver.har)."""
    fmt = request.query.get("format", "jsonl")
    if fmt not in ("jsonl", "csv", "har"):
        return error(400, "bad_parameter", "format: expected jsonl, csv or har")
    try:
        query = parse_query(request.query, with_paging=False)
    except BadParameter as exc:
        return error(400, "bad_parameter", str(exc))
    if fmt == "har":
        return await stream_har(request, request.app[RECEIVER].store.export(query))
    response = web.StreamResponse(headers={
        "Content-Type": "application/x-ndjson" if fmt == "jsonl" else "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="messages.{fmt}"'})
    await response.prepare(request)
    if fmt == "csv":
        await response.write(_csv_row(_CSV_COLUMNS))
    async for message in request.app[RECEIVER].store.export(query):
        row = detail(message)
        if fmt == "jsonl":
            await response.write(json.dumps(row, separators=(",", ":")).encode() + b"\n")
        else:
            await response.write(_csv_row(row.get(column) for column in _CSV_COLUMNS))
    await response.write_eof()
    return response


def _csv_row(values: Any) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerow(["" if v is None else v for v in values])
    return out.getvalue().encode("utf-8", "backslashreplace")


async def stream_messages(request: web.Request) -> web.StreamResponse:
    return await serve_events(request, request.app[RECEIVER].hub,
                              request.query.get("endpoint") or None)


def endpoint_json(endpoint: Endpoint, now: float) -> dict[str, Any]:
    """An endpoint as the API shows it: never its secrets, only how many there are."""
    plan = endpoint.faults
    faults = plan.settings
    phase = current_phase(plan, now)
    return {
        "name": endpoint.name,
        "configured": endpoint.configured,
        "secrets": len(endpoint.secrets),
        "forwardTo": endpoint.forward_to or None,
        "faults": {
            "status": faults.status, "failureRate": faults.failure_rate,
            "delayMs": faults.delay_ms, "hang": faults.hang, "close": faults.close_connection,
            "phases": [str(p) for p in plan.phases],
            "currentPhase": phase,
            "secondsSinceSet": round(now - plan.started_at, 3),
        },
    }


async def list_endpoints(request: web.Request) -> web.Response:
    receiver = request.app[RECEIVER]
    now = receiver.clock()
    return web.json_response({
        "autoEndpoints": receiver.settings.auto_endpoints,
        "endpoints": [endpoint_json(e, now) for e in receiver.endpoints.all()],
    })


async def get_endpoint(request: web.Request) -> web.Response:
    receiver = request.app[RECEIVER]
    endpoint = receiver.endpoints.get(request.match_info["name"])
    if endpoint is None:
        return error(404, "unknown_endpoint", "no such endpoint")
    return web.json_response(endpoint_json(endpoint, receiver.clock()))


# JSON name → (FaultSettings field, accepted types)
_FAULT_FIELDS: dict[str, tuple[str, tuple[type, ...]]] = {
    "status": ("status", (int,)), "failureRate": ("failure_rate", (int, float)),
    "delayMs": ("delay_ms", (int,)), "hang": ("hang", (bool,)),
    "close": ("close_connection", (bool,)), "phases": ("phases", (list,)),
}


def faults_from_json(data: Any) -> FaultSettings:
    """FaultSettings from ``{"status": 500, "failureRate": 0.5, "phases": ["500:2m"], ...}``;
    absent keys take their defaults, so ``{}`` clears every fault. ValueError if malformed."""
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    unknown = sorted(set(data) - set(_FAULT_FIELDS))
    if unknown:
        raise ValueError(f"unknown key {unknown[0]} (known: {', '.join(_FAULT_FIELDS)})")
    values: dict[str, Any] = {}
    for key, value in data.items():
        field_name, types = _FAULT_FIELDS[key]
        if int in types and isinstance(value, float) and value.is_integer():
            value = int(value)   # JSON has one number type: 500.0 is the integer 500
        if isinstance(value, bool) and bool not in types or not isinstance(value, types):
            raise ValueError(f"{key}: wrong type {type(value).__name__}")
        if key == "phases":
            if not all(isinstance(p, str) for p in value):
                raise ValueError("phases: expected a list of strings like '500:2m'")
            value = tuple(value)
        values[field_name] = float(value) if key == "failureRate" else value
    return FaultSettings(**values)


async def put_faults(request: web.Request) -> web.Response:
    receiver = request.app[RECEIVER]
    name = request.match_info["name"]
    try:
        faults = faults_from_json(await request.json())
        endpoint = receiver.endpoints.set_faults(name, faults)
    except KeyError:
        return error(404, "unknown_endpoint", f"no endpoint named {name!r}")
    except (ValueError, RecursionError) as exc:  # json.JSONDecodeError too; absurd nesting
        return error(400, "invalid_faults", str(exc))
    except (HttpProcessingError, RequestPayloadError) as exc:   # a body it cannot decode
        return error(400, "invalid_faults", f"unreadable body: {exc.__class__.__name__}")
    return web.json_response(endpoint_json(endpoint, receiver.clock()))

