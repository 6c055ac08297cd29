"""``GET /api/subscriptions/{guid}/backoff/errors?minutes=``: failed attempts per minute of
platform time, with the back-off thresholds, for the back-off chart."""

from __future__ import annotations

import math

from aiohttp import web

from dispatcher.api import SERVICE
from storage.error_rates import errors_per_minute
from storage.web import DATABASE
from web.params import query_int
from web.routes import json_route
from web.times import iso

MAX_MINUTES = 24 * 60


routes = web.RouteTableDef()


@routes.get("/api/subscriptions/{guid}/backoff/errors")
@json_route
async def error_rates(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    guid = request.match_info["guid"]
    await service.get_subscription(guid)        # 404 for an unknown subscription
    minutes = query_int(request.query, "minutes", 30, 1, MAX_MINUTES)
    now = service.clock.now()
    last = math.floor(now / 60)
    first = last - minutes + 1
    counts = await errors_per_minute(request.app[DATABASE], guid, first * 60.0, now + 1)
    rules = service.rules
    return web.json_response({
        "now": iso(now), "errorsToPause": rules.errors_to_pause,
        "errorWindowSeconds": rules.error_window, "pausesToStop": rules.pauses_to_stop,
        "minutes": [{"at": iso(m * 60.0), "errors": counts.get(m, 0)}
                    for m in range(first, last + 1)],
    })
