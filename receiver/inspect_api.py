"""Inspection API: list, read, clear, export and follow stored messages; set endpoint faults.

Bearer-token access is the auth middleware's job (hooksim/auth.py), not this module's.
Parameters, errors and times are the HTTP toolkit's (:mod:`web`).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from receiver.running import RECEIVER
from receiver.endpoints import Endpoint
from receiver.envelope import clean_text
from receiver.faults import current_phase
from receiver.har import stream_har
from receiver.message_json import detail, summary
from receiver.settings import FaultSettings
from receiver.stream import serve_events
from storage import NotFound
from storage.messages import Cursor, MessageQuery, ReceivedMessage
from web.errors import InvalidInput
from web.errors import NotFound as NoSuchResource
from web.params import cursor_text, json_object, query_choice, query_cursor, query_int, query_time
from web.routes import json_route

MAX_LIMIT = 1000
_BOOLS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
_VERIFIED = {"true": "yes", "yes": "yes", "1": "yes", "false": "no", "no": "no", "0": "no",
             "unchecked": "unchecked", "none": "unchecked"}
_CSV_COLUMNS = ("id", "receivedAt", "endpoint", "eventGuid", "category", "type", "restaurantGuid",
                "verified", "reason", "duplicate", "status", "fault", "bodySize", "body")


routes = web.RouteTableDef()


def parse_query(params: Mapping[str, str], with_paging: bool = True) -> MessageQuery:
    """A MessageQuery from the query string; InvalidInput names the offending parameter."""
    limit, cursor = 50, None
    if with_paging:
        limit = query_int(params, "limit", 50, 1, MAX_LIMIT)
        found = query_cursor(params)
        cursor = Cursor(*found) if found else None

    def stored_as(name: str) -> str | None:
        # Compared with the columns as the receiver wrote them (NUL and lone surrogates escaped).
        return clean_text(params[name]) if params.get(name) else None

    text = params.get("q") or None
    if text is not None and "\x00" in text:
        raise InvalidInput("q cannot contain NUL: bodies are searched up to their first NUL", "q")
    return MessageQuery(
        endpoint=stored_as("endpoint"), category=stored_as("category"),
        event_type=stored_as("type"), verified=query_choice(params, "verified", _VERIFIED),
        duplicate=query_choice(params, "duplicate", _BOOLS), since=query_time(params, "from"),
        until=query_time(params, "to", end=True), text=text, limit=limit, cursor=cursor)


@routes.get("/api/messages")
@json_route
async def list_messages(request: web.Request) -> web.Response:
    query = parse_query(request.query)
    page = await request.app[RECEIVER].store.find(query)
    cursor = page.next_cursor
    return web.json_response({
        "messages": [summary(m) for m in page.messages],
        "nextCursor": cursor_text((cursor.received_at, cursor.id) if cursor else None),
    })


_MAX_ID = 2**63 - 1   # the widest id either backend stores


async def _message(request: web.Request) -> ReceivedMessage:
    """The message named by the path, else 404 (also for what can be no id: -1, abc)."""
    text = request.match_info["id"]
    if not (text.isascii() and text.isdigit() and int(text) <= _MAX_ID):
        raise NoSuchResource(f"no message {clean_text(text, 40)!r}: ids are whole numbers")
    try:
        return await request.app[RECEIVER].store.get(int(text))
    except NotFound as exc:
        raise NoSuchResource(str(exc)) from None


@routes.get("/api/messages/{id}")
@json_route
async def get_message(request: web.Request) -> web.Response:
    return web.json_response(detail(await _message(request)))


@routes.get("/api/messages/{id}/body")
@json_route
async def get_body(request: web.Request) -> web.Response:
    """The exact bytes received, for ``curl -o`` and byte-for-byte comparisons."""
    message = await _message(request)
    return web.Response(body=message.body, content_type="application/octet-stream")


@routes.delete("/api/messages")
@json_route
async def delete_messages(request: web.Request) -> web.Response:
    endpoint = clean_text(request.query["endpoint"]) if request.query.get("endpoint") else None
    deleted = await request.app[RECEIVER].store.delete(endpoint)
    return web.json_response({"deleted": deleted})


@routes.get("/api/messages/export")
@json_route
async def export_messages(request: web.Request) -> web.StreamResponse:
    """Every matching message, streamed: JSON lines (full detail), CSV (summary and body) or
    HAR 1.2 (receiver.har)."""
    fmt = request.query.get("format", "jsonl")
    if fmt not in ("jsonl", "csv", "har"):
        raise InvalidInput(f"format must be one of jsonl, csv, har, got {fmt!r}", "format")
    query = parse_query(request.query, with_paging=False)
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


@routes.get("/api/messages/stream")
@json_route
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


@routes.get("/api/receiver/endpoints")
@json_route
async def list_endpoints(request: web.Request) -> web.Response:
    receiver = request.app[RECEIVER]
    now = receiver.clock()
    return web.json_response({
        "autoEndpoints": receiver.settings.auto_endpoints,
        "endpoints": [endpoint_json(e, now) for e in receiver.endpoints.all()],
    })


@routes.get("/api/receiver/endpoints/{name}")
@json_route
async def get_endpoint(request: web.Request) -> web.Response:
    receiver = request.app[RECEIVER]
    endpoint = receiver.endpoints.get(request.match_info["name"])
    if endpoint is None:
        raise NoSuchResource(f"no endpoint named {request.match_info['name']!r}")
    return web.json_response(endpoint_json(endpoint, receiver.clock()))


# JSON name → (FaultSettings field, accepted types)
_FAULT_FIELDS: dict[str, tuple[str, tuple[type, ...]]] = {
    "status": ("status", (int,)), "failureRate": ("failure_rate", (int, float)),
    "delayMs": ("delay_ms", (int,)), "hang": ("hang", (bool,)),
    "close": ("close_connection", (bool,)), "phases": ("phases", (list,)),
}


def faults_from_json(data: dict[str, Any]) -> FaultSettings:
    """FaultSettings from ``{"status": 500, "failureRate": 0.5, "phases": ["500:2m"], ...}``;
    absent keys take their defaults, so ``{}`` clears every fault. InvalidInput naming the key
    if malformed."""
    unknown = sorted(set(data) - set(_FAULT_FIELDS))
    if unknown:
        raise InvalidInput(f"unknown key {unknown[0]} (known: {', '.join(_FAULT_FIELDS)})",
                           unknown[0])
    values: dict[str, Any] = {}
    for key, value in data.items():
        field_name, types = _FAULT_FIELDS[key]
        if int in types and isinstance(value, float) and value.is_integer():
            value = int(value)   # JSON has one number type: 500.0 is the integer 500
        if isinstance(value, bool) and bool not in types or not isinstance(value, types):
            raise InvalidInput(f"{key}: wrong type {type(value).__name__}", key)
        if key == "phases":
            if not all(isinstance(p, str) for p in value):
                raise InvalidInput("phases: expected a list of strings like '500:2m'", key)
            value = tuple(value)
        values[field_name] = float(value) if key == "failureRate" else value
    return FaultSettings(**values)


@routes.put("/api/receiver/endpoints/{name}/faults")
@json_route
async def put_faults(request: web.Request) -> web.Response:
    receiver = request.app[RECEIVER]
    name = request.match_info["name"]
    body = await json_object(request)
    try:
        endpoint = receiver.endpoints.set_faults(name, faults_from_json(body))
    except KeyError:
        raise NoSuchResource(f"no endpoint named {name!r}") from None
    except ValueError as exc:   # the settings' own checks (a status out of range, a bad phase)
        raise InvalidInput(str(exc)) from None
    return web.json_response(endpoint_json(endpoint, receiver.clock()))
