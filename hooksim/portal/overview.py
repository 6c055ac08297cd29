"""``GET /api/overview``: the Home page's answer to "is everything healthy?".

Subscriptions by status, the ones paused or stopped, and delivery attempts (with the failed
ones) in the last hour of platform time. The receiver's latest arrivals come from its own API.
"""

from __future__ import annotations

from collections import Counter

from aiohttp import web

from dispatcher.api import SERVICE
from storage.error_rates import attempts_between
from storage.web import DATABASE
from web.routes import json_route
from web.times import iso

HOUR = 3600.0

routes = web.RouteTableDef()


@routes.get("/api/overview")
@json_route
async def overview(request: web.Request) -> web.Response:
    service = request.app[SERVICE]
    now = service.clock.now()
    subscriptions = await service.list_subscriptions()
    attempts, failed = await attempts_between(request.app[DATABASE], now - HOUR, now + 1)
    by_status = Counter(sub.status for sub in subscriptions)
    return web.json_response({
        "now": iso(now),
        "subscriptions": {status: by_status.get(status, 0)
                          for status in ("ACTIVE", "PAUSED", "STOPPED")},
        "needsAttention": [
            {"guid": sub.guid, "name": sub.name, "status": sub.status,
             "eventCategory": sub.event_category, "url": sub.url,
             "pausedUntil": iso(sub.paused_until) if sub.paused_until else None}
            for sub in subscriptions if sub.status != "ACTIVE"],
        "lastHour": {"attempts": attempts, "failed": failed},
    })
