"""The dispatcher's admin API under /api (JSON). Handlers translate HTTP to DispatcherService calls
and back; every rule lives in the service. Parameters, errors and times are the HTTP toolkit's
(:mod:`web`): errors are ``{"error": code, "detail": text, "field": name}``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from aiohttp import web

from dispatcher.errors import InvalidInput, UnknownResource, WrongState
from dispatcher import events as catalogue
from dispatcher.events import availability
from dispatcher.har import attempt_entry
from dispatcher.service import DispatcherService, check_category
from dispatcher.streams import (MAX_RUNNING_STREAMS, MAX_STREAM_RATE, MAX_STREAM_SECONDS, Stream,
                                Streams)
from storage.deliveries import AttemptRecord, DeliveryQuery, DeliveryRecord
from storage.har import HAR_CONTENT_TYPE, HAR_END, har_entry, har_start
from storage.subscriptions import SubscriptionRecord, TransitionRecord
from web.params import cursor_text, json_object, query_cursor, query_int, query_time
from web.routes import json_route
from web.times import iso

SERVICE = web.AppKey("dispatcher_service", DispatcherService)

_PERIODS = {"1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400}
MAX_LIMIT = 500


def query_limit(query: Mapping[str, str], default: int = 50) -> int:
    """The page size of a list: 1-:data:`MAX_LIMIT`."""
    return query_int(query, "limit", default, 1, MAX_LIMIT)


def _status_filter(text: str | None) -> str | None:
    if not text or text.lower() == "all":
        return None
    status = text.strip().upper().replace(" ", "_")
    if status not in ("SUCCESS", "PENDING", "NOT_SENT", "FAILURE"):
        raise InvalidInput("status must be one of All, SUCCESS, PENDING, NOT_SENT, FAILURE; "
                           f"got {text!r}", "status")
    return status


# -- JSON shapes -------------------------------------------------------------------------------
def subscription_json(record: SubscriptionRecord) -> dict[str, Any]:
    return {
        "guid": record.guid, "name": record.name, "eventCategory": record.event_category,
        "url": record.url, "notificationEmail": record.notification_email,
        "status": record.status, "secret": record.secret,
        "pausedUntil": iso(record.paused_until) if record.paused_until else None,
        "createdDate": iso(record.created_at), "modifiedDate": iso(record.modified_at),
    }


def delivery_json(record: DeliveryRecord) -> dict[str, Any]:
    return {
        "webhookGuid": record.webhook_guid, "subscriptionGuid": record.subscription_guid,
        "eventGuid": record.event_guid, "eventCategory": record.category,
        "eventType": record.event_type, "status": record.status,
        "firstSentAt": iso(record.first_sent_at) if record.first_sent_at else None,
        "createdAt": iso(record.created_at),
        "attempts": record.attempts, "totalAttempts": record.total_attempts,
        "series": record.series, "responseCode": record.last_status_code,
        "lastOutcome": record.last_outcome,
        "nextAttemptAt": iso(record.next_attempt_at) if record.next_attempt_at else None,
        "routeKey": record.route_key, "signature": record.signature, "webhookUrl": record.url,
        "body": record.body.decode("utf-8", "replace"),
    }


def attempt_json(record: AttemptRecord) -> dict[str, Any]:
    return {
        "series": record.series, "attemptNumber": record.number, "at": iso(record.started_at),
        "outcome": record.outcome, "responseCode": record.status_code,
        "latencyMs": round(record.latency_ms, 1), "detail": record.detail,
        "responseExcerpt": record.response_excerpt,
    }


def transition_json(record: TransitionRecord) -> dict[str, Any]:
    return {"kind": record.kind, "at": iso(record.at), "errorsInWindow": record.errors_in_window,
            "pausesInWindow": record.pauses_in_window, "reason": record.reason}


# -- handlers ----------------------------------------------------------------------------------
routes = web.RouteTableDef()


@routes.post("/api/subscriptions")
@json_route
async def create_subscription(request: web.Request) -> web.Response:
    body = await json_object(request)
    unknown = set(body) - {"eventCategory", "url", "name", "notificationEmail"}
    if unknown:
        raise InvalidInput(f"unknown field {sorted(unknown)[0]}", sorted(unknown)[0])
    record = await request.app[SERVICE].create_subscription(
        event_category=body.get("eventCategory"), url=body.get("url"),
        notification_email=body.get("notificationEmail"), name=body.get("name"))
    return web.json_response(subscription_json(record), status=201)


@routes.get("/api/subscriptions")
@json_route
async def list_subscriptions(request: web.Request) -> web.Response:
    records = await request.app[SERVICE].list_subscriptions()
    return web.json_response({"items": [subscription_json(r) for r in records]})


@routes.get("/api/subscriptions/{guid}")
@json_route
async def get_subscription(request: web.Request) -> web.Response:
    record = await request.app[SERVICE].get_subscription(request.match_info["guid"])
    return web.json_response(subscription_json(record))


_EDITABLE = {"url": "url", "name": "name", "notificationEmail": "notification_email",
             "eventCategory": "event_category"}


@routes.patch("/api/subscriptions/{guid}")
@json_route
async def edit_subscription(request: web.Request) -> web.Response:
    body = await json_object(request)
    for field in body:
        if field not in _EDITABLE:
            raise InvalidInput(f"{field} is not editable (editable: url, name, "
                               "notificationEmail)", field)
    changes = {_EDITABLE[field]: value for field, value in body.items()}
    record = await request.app[SERVICE].edit_subscription(request.match_info["guid"], changes)
    return web.json_response(subscription_json(record))


@routes.delete("/api/subscriptions/{guid}")
@json_route
async def delete_subscription(request: web.Request) -> web.Response:
    await request.app[SERVICE].delete_subscription(request.match_info["guid"])
    return web.Response(status=204)


@routes.post("/api/subscriptions/{guid}/restart")
@json_route
async def restart_subscription(request: web.Request) -> web.Response:
    record = await request.app[SERVICE].restart_subscription(request.match_info["guid"])
    return web.json_response(subscription_json(record))


@routes.get("/api/subscriptions/{guid}/backoff")
@json_route
async def backoff(request: web.Request) -> web.Response:
    view = await request.app[SERVICE].backoff(request.match_info["guid"])
    return web.json_response({
        "status": view.status, "errorsInWindow": view.errors_in_window,
        "pausesInWindow": view.pauses_in_window,
        "pausedUntil": iso(view.paused_until) if view.paused_until else None,
        "history": [transition_json(t) for t in view.history],
    })


@routes.get("/api/subscriptions/{guid}/deliveries")
@json_route
async def list_deliveries(request: web.Request) -> web.Response:
    query = request.query
    page = await request.app[SERVICE].list_deliveries(_delivery_query(
        request, limit=query_limit(query), cursor=query_cursor(query)))
    return web.json_response({"items": [delivery_json(d) for d in page.items],
                              "nextCursor": cursor_text(page.next_cursor)})


def _delivery_query(request: web.Request, *, limit: int,
                    cursor: tuple[float, int] | None) -> DeliveryQuery:
    """A subscription's deliveries by the query's status, from, to and period."""
    service, query = request.app[SERVICE], request.query
    created_from = query_time(query, "from")
    if query.get("period"):
        if query["period"] not in _PERIODS:
            raise InvalidInput(f"period must be one of {', '.join(_PERIODS)}", "period")
        created_from = max(created_from or 0.0, service.clock.now() - _PERIODS[query["period"]])
    return DeliveryQuery(
        subscription_guid=request.match_info["guid"], status=_status_filter(query.get("status")),
        created_from=created_from, created_to=query_time(query, "to", end=True), limit=limit,
        cursor=cursor)


@routes.get("/api/subscriptions/{guid}/deliveries/export")
@json_route
async def export_attempts(request: web.Request) -> web.StreamResponse:
    """Every attempt of the subscription's matching deliveries as one HAR 1.2 document,
    streamed (deliveries newest first, a page at a time; each one's attempts in order)."""
    if request.query.get("format", "har") != "har":
        raise InvalidInput("format: expected har", "format")
    service = request.app[SERVICE]
    query = _delivery_query(request, limit=MAX_LIMIT, cursor=None)
    page = await service.list_deliveries(query)   # UnknownResource before anything is sent
    guid = request.match_info["guid"]
    response = web.StreamResponse(headers={
        "Content-Type": HAR_CONTENT_TYPE,
        "Content-Disposition": f'attachment; filename="deliveries-{guid}.har"'})
    await response.prepare(request)
    await response.write(har_start(f"delivery attempts of subscription {guid}"))
    first = True
    while True:
        attempts = await service.deliveries.attempts_by_delivery([d.id for d in page.items])
        for delivery in page.items:
            for attempt in attempts.get(delivery.id, ()):
                await response.write(har_entry(
                    attempt_entry(delivery, attempt, service.settings), first))
                first = False
        if page.next_cursor is None:
            break
        page = await service.deliveries.list(replace(query, cursor=page.next_cursor))
    await response.write(HAR_END)
    await response.write_eof()
    return response


@routes.get("/api/deliveries/{webhook_guid}")
@json_route
async def get_delivery(request: web.Request) -> web.Response:
    delivery, attempts = await request.app[SERVICE].get_delivery(request.match_info["webhook_guid"])
    return web.json_response({**delivery_json(delivery),
                              "attemptHistory": [attempt_json(a) for a in attempts]})


@routes.post("/api/deliveries/{webhook_guid}/replay")
@json_route
async def replay(request: web.Request) -> web.Response:
    delivery = await request.app[SERVICE].replay(request.match_info["webhook_guid"])
    return web.json_response(delivery_json(delivery), status=202)


async def _snooze(request: web.Request, body: dict) -> web.Response:
    """The availability snooze scenario: two toggle events, the second due when the snooze ends."""
    if body.get("eventCategory") != availability.TOGGLE_CATEGORY:
        raise InvalidInput(f"snooze is a {availability.TOGGLE_CATEGORY} scenario", "eventCategory")
    extra = sorted(set(body) - {"eventCategory", "restaurantGuid", "snooze"})
    if extra:
        raise InvalidInput(f"{extra[0]} cannot be given with snooze", extra[0])
    if body.get("restaurantGuid") is not None and not isinstance(body["restaurantGuid"], str):
        raise InvalidInput("restaurantGuid must be a string", "restaurantGuid")
    made = await request.app[SERVICE].snooze(kind=body["snooze"], restaurant_guid=body.get("restaurantGuid"))
    return web.json_response({"eventGuids": [event.guid for event in made]}, status=202)


@routes.post("/api/events")
@json_route
async def send_events(request: web.Request) -> web.Response:
    body = await json_object(request)
    unknown = set(body) - {"eventCategory", "eventType", "restaurantGuid", "details", "count", "large",
                           "snooze"}
    if unknown:
        raise InvalidInput(f"unknown field {sorted(unknown)[0]}", sorted(unknown)[0])
    if "snooze" in body:
        return await _snooze(request, body)
    details = body.get("details")
    if details is not None and not isinstance(details, dict):
        raise InvalidInput("details must be a JSON object", "details")
    for name in ("eventType", "restaurantGuid"):
        if body.get(name) is not None and not isinstance(body[name], str):
            raise InvalidInput(f"{name} must be a string", name)
    count = body.get("count", 1)
    if isinstance(count, float) and count.is_integer():
        count = int(count)   # JSON has one number type: 2.0 is the integer 2
    large = body.get("large", False)
    if not isinstance(large, bool):
        raise InvalidInput("large must be true or false", "large")
    if large and count != 1:   # each is over 600 KB: one a request bounds memory
        raise InvalidInput("large events are made one at a time: count must be 1", "count")
    made = await request.app[SERVICE].send_events(
        category=body.get("eventCategory"), event_type=body.get("eventType"),
        restaurant_guid=body.get("restaurantGuid"), details=details, count=count, large=large)
    return web.json_response({"eventGuids": [event.guid for event in made]}, status=202)


# -- streams: events made on the platform clock --------------------------------------------
STREAMS = web.AppKey("dispatcher_streams", Streams)


def _stream_from(body: Mapping[str, Any]) -> Stream:
    unknown = set(body) - {"eventCategory", "eventType", "rate", "duration"}
    if unknown:
        raise InvalidInput(f"unknown field {sorted(unknown)[0]}", sorted(unknown)[0])
    category = check_category(body.get("eventCategory"))
    event_type = body.get("eventType")
    if event_type is not None and event_type not in catalogue.event_types(category):
        # Checked now: a stream that failed at its first event would only say so in its state.
        raise InvalidInput(f"eventType must be one of {', '.join(catalogue.event_types(category))}"
                           f" for {category}, got {event_type!r}", "eventType")
    rate = _positive(body.get("rate"), "rate", MAX_STREAM_RATE, "events per platform second")
    duration = _positive(body.get("duration"), "duration", MAX_STREAM_SECONDS, "platform seconds")
    return Stream(category, rate, duration, event_type)


def _positive(value: Any, name: str, most: float, unit: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= most:
        return float(value)
    raise InvalidInput(f"{name} must be a number of {unit}, more than 0 and at most {most:g}, "
                       f"got {value!r}", name)


@routes.post("/api/streams")
@json_route
async def start_stream(request: web.Request) -> web.Response:
    """Make ``rate`` events per platform second for ``duration`` of platform time, each at its
    own moment on the platform clock, for every subscription of the category."""
    stream = _stream_from(await json_object(request))
    streams = request.app[STREAMS]
    if streams.busy():
        raise WrongState(f"{MAX_RUNNING_STREAMS} streams are running: stop one first "
                         "(DELETE /api/streams/{id})")
    return web.json_response(streams.start(stream).json(), status=201)


@routes.get("/api/streams")
@json_route
async def list_streams(request: web.Request) -> web.Response:
    return web.json_response({"streams": [s.json() for s in request.app[STREAMS].running.values()]})


@routes.delete("/api/streams/{id}")
@json_route
async def stop_stream(request: web.Request) -> web.Response:
    text = request.match_info["id"]
    stopped = await request.app[STREAMS].stop(int(text)) if text.isdigit() and len(text) < 10 else None
    if stopped is None:
        raise UnknownResource(f"no stream {text}")
    return web.json_response(stopped.json())
