"""``GET /api/subscriptions/{guid}/backoff/errors?minutes=``: failed attempts per minute of
platform time, with the back-off thresholds, for the back-off chart."""

from __future__ import annotations

import math

from aiohttp import web

from dispatcher.api import SERVICE, api
from dispatcher.clock import iso
from hooksim.auth import int_param
from storage.error_rates import errors_per_minute
from storage.web import DATABASE

MAX_MINUTES = 24 * 60


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/subscriptions/{guid}/backoff/errors", error_rates)


@api
async def error_rates(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    guid = request.match_info["guid"]
    await service.get_subscription(guid)        # 404 for an unknown subscription
    minutes = int_param(request, "minutes", 30, 1, MAX_MINUTES)
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
