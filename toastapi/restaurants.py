"""The restaurant-level fallback APIs: partners' connected restaurants, restaurant availability
and the published online ordering schedule. Each answer is the newest event of its category
(sent or Not sent alike); a restaurant with none shows the simulated world's starting state.
"""

from __future__ import annotations

import json
import random
from typing import Any

from aiohttp import web

from dispatcher import events as catalogue
from dispatcher.events import Restaurant, World, epoch_millis, iso_utc, placeholder_restaurant
from dispatcher.events.availability import TOGGLE_CATEGORY
from dispatcher.events.schedule import BEHAVIORS, weekly_hours
from toastapi.access import PLATFORM, Platform, guarded
from toastapi.orders import zoned_time

routes = web.RouteTableDef()

# PartnerAccessExternalRep (partners API v1): the fields of a partner event's details it keeps.
_PARTNER_FIELDS = ("restaurantGuid", "managementGroupGuid", "restaurantName", "locationName",
                   "createdByEmailAddress", "externalGroupRef", "externalRestaurantRef")


def partner_access(details: dict[str, Any], deleted: bool, modified_ms: int) -> dict[str, Any]:
    """One restaurant's connection as the partners API lists it. ``modified_ms``: its last change
    (a removal keeps the connection's own dates in its details, Toast's example; the listing
    must still show it as changed then, or a lastModified poll would never see it)."""
    rep: dict[str, Any] = {key: details.get(key) for key in _PARTNER_FIELDS}
    rep["deleted"] = deleted
    created = int(details.get("createdDate") or modified_ms)
    rep |= {"modifiedDate": modified_ms, "createdDate": created,
            "isoModifiedDate": iso_utc(modified_ms), "isoCreatedDate": iso_utc(created)}
    return rep


def _connected_from_start(restaurant: Restaurant) -> dict[str, Any]:
    """A restaurant of the simulated world no partner event has named: connected since its
    ``created_at``, as a partner_updated event would describe it then."""
    spec = catalogue.CATEGORIES["partner"]
    details = spec.build("partner_updated", restaurant, random.Random(0), restaurant.created_at,
                         World())
    return partner_access(details, False, epoch_millis(restaurant.created_at))


@routes.get("/partners/v1/restaurants")
@guarded("", restaurant=False)
async def partner_restaurants(request: web.Request, _: str) -> web.Response:
    """Every restaurant the client can or could access; ``lastModified`` keeps those changed at
    or after it (removed ones come back with ``deleted: true``)."""
    platform = request.app[PLATFORM]
    since = _last_modified(request.query.get("lastModified"))
    listed: dict[str, dict[str, Any]] = {r.guid: _connected_from_start(r) for r in platform.restaurants}
    for event in await platform.log.latest_partners(platform.now()):
        details = json.loads(event.body)["details"]
        listed[details["restaurantGuid"]] = partner_access(
            details, event.event_type == "partner_removed", epoch_millis(event.created_at))
    reps = [rep for rep in listed.values() if since is None or rep["modifiedDate"] >= since]
    reps.sort(key=lambda rep: (rep["modifiedDate"], rep["restaurantGuid"]))
    return web.json_response(reps)


def _last_modified(text: str | None) -> int | None:
    """``2020-03-01T00:00:00.000-0000`` in epoch milliseconds, or None when not given."""
    return epoch_millis(zoned_time(text, "lastModified")) if text else None


# Availability: online only when both the autofire status and the channel toggle are online
# (toast-reference section 5); with no event of either, online.
_ONLINE = {"status": "ONLINE", "reasonKey": "AVAILABILITY_ONLINE",
           "reason": "Restaurant is approving online orders"}


async def availability_of(platform: Platform, restaurant_guid: str) -> dict[str, Any]:
    now = platform.now()
    for category in ("restaurant_availability", TOGGLE_CATEGORY):
        event = await platform.log.latest(category, restaurant_guid, now)
        if event is not None:
            details = json.loads(event.body)["details"]
            if details.get("status") == "OFFLINE":   # the first one offline says why
                return {"restaurantGuid": restaurant_guid, **_reason(details)}
    return {"restaurantGuid": restaurant_guid, **_ONLINE}


def _reason(details: dict[str, Any]) -> dict[str, Any]:
    return {key: details.get(key) for key in ("status", "reasonKey", "reason")}


@routes.get("/restaurant-availability/v1/availability")
@guarded("restaurants:read")
async def availability(request: web.Request, restaurant_guid: str) -> web.Response:
    return web.json_response(await availability_of(request.app[PLATFORM], restaurant_guid))


def text_times(value: Any) -> Any:
    """``[hour, minute]`` arrays (the webhook's example) as the REST API's ``"HH:MM"`` text."""
    if isinstance(value, dict):
        return {key: (f"{item[0]:02d}:{item[1]:02d}" if key in ("start", "end")
                      and isinstance(item, list) else text_times(item))
                for key, item in value.items()}
    if isinstance(value, list):
        return [text_times(item) for item in value]
    return value


def usual_schedule(restaurant: Restaurant) -> dict[str, Any]:
    """The schedule of a restaurant that has published none: its usual weekly hours."""
    hours = weekly_hours(restaurant)
    return {
        "servicePeriods": [
            {"diningOptionBehavior": behavior,
             "dayPeriods": [{"day": day, "timeRanges": [{"start": list(start), "end": list(end)}]}
                            for day, (start, end) in hours[behavior].items()]}
            for behavior in BEHAVIORS],
        "overrides": [], "scheduledOrderMaxDays": 0, "lastOrderConfiguration": "UNTIL_CLOSING_TIME",
    }


async def schedule_of(platform: Platform, restaurant_guid: str) -> dict[str, Any]:
    event = await platform.log.latest("ordering_schedule", restaurant_guid, platform.now())
    if event is not None:
        schedule = json.loads(event.body)["details"]["orderingSchedule"]
    else:
        restaurant = platform.restaurant(restaurant_guid) or placeholder_restaurant(restaurant_guid)
        schedule = usual_schedule(restaurant)
    return {"restaurantGuid": restaurant_guid, "orderingSchedule": text_times(schedule)}


@routes.get("/ordermgmt-config/v1/published/orderingSchedule")
@guarded("config:read")
async def ordering_schedule(request: web.Request, restaurant_guid: str) -> web.Response:
    return web.json_response(await schedule_of(request.app[PLATFORM], restaurant_guid))
