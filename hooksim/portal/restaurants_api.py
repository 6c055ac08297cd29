"""``GET /api/restaurants`` and ``GET /api/restaurants/export.csv``: the connected restaurants.

Guarded like every ``/api`` route (bearer token, or the portal's session cookie).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from aiohttp import web

from storage.restaurants import ConnectedRestaurant, RestaurantStore
from storage.web import DATABASE
from web.params import query_time
from web.routes import json_route
from web.times import iso

#: The export has the page's columns, headed as on the page (the platform's report holds the
#: same information as its page): (heading, value of a restaurant_json row).
_CSV_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("Restaurant", lambda r: r["restaurantName"]),
    ("Location", lambda r: r["locationName"]),
    ("City", lambda r: ", ".join(v for v in (r["restaurantCity"], r["restaurantState"]) if v)),
    ("GUID", lambda r: r["restaurantGuid"]),
    ("Connected", lambda r: r["connectedAt"]),
    ("Last event", lambda r: f"{r['lastEventType']} · {r['lastEventAt']}"),
)


routes = web.RouteTableDef()


def restaurant_json(record: ConnectedRestaurant) -> dict[str, Any]:
    details = record.details
    return {
        "restaurantGuid": record.guid,
        "restaurantName": details.get("restaurantName"),
        "locationName": details.get("locationName"),
        "managementGroupGuid": details.get("managementGroupGuid"),
        "restaurantCity": details.get("restaurantCity"),
        "restaurantState": details.get("restaurantState"),
        "restaurantCountryCode": details.get("restaurantCountryCode"),
        "connectedAt": iso(record.connected_at),
        "lastEventType": record.last_event_type,
        "lastEventAt": iso(record.last_event_at),
    }


async def _find(request: web.Request) -> list[ConnectedRestaurant]:
    start = query_time(request.query, "from")   # 400 naming the parameter if malformed
    end = query_time(request.query, "to", end=True)
    text = request.query.get("q", "").strip() or None
    return await RestaurantStore(request.app[DATABASE]).connected(text, start, end)


@routes.get("/api/restaurants")
@json_route
async def list_restaurants(request: web.Request) -> web.Response:
    found = await _find(request)
    return web.json_response({"items": [restaurant_json(r) for r in found]})


@routes.get("/api/restaurants/export.csv")
@json_route
async def export_restaurants(request: web.Request) -> web.Response:
    found = await _find(request)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([heading for heading, _ in _CSV_COLUMNS])
    for record in found:
        row = restaurant_json(record)
        # A leading = + - @ would be a formula in a spreadsheet; quote it as text.
        writer.writerow([_cell(value(row)) for _, value in _CSV_COLUMNS])
    return web.Response(body=out.getvalue().encode("utf-8"), headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": 'attachment; filename="connected-restaurants.csv"'})


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
