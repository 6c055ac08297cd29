"""The menus API (``/menus/v2/metadata``, ``/menus/v2/menus``) and the stock API
(``/stock/v1/inventory``).

The menu is the restaurant's kitchen (dispatcher.events.kitchen): the very items, groups,
modifiers, prices and tax rates its orders are made of, so every selection of an order names
an item of the menu. ``lastUpdated`` is the newest menus event's ``publishedDate``; stock is each
item's newest stock event.
"""

from __future__ import annotations

import json
import random
from typing import Any

from aiohttp import web

from dispatcher.events import Restaurant, epoch_millis, iso_utc, new_guid, placeholder_restaurant
from dispatcher.events.kitchen import Item, kitchen_of
from toastapi.access import PLATFORM, Platform, guarded, take_rate
from toastapi.errors import bad_request

routes = web.RouteTableDef()

MENUS_PER_SECOND = 1   # Toast: GET /menus, one request per second per location
_VISIBILITY = ["POS", "KIOSK", "TOAST_ONLINE_ORDERING", "ORDERING_PARTNERS"]
_OPTION_GROUP_ID = 1   # referenceId of the one modifier group; its options follow from 2


async def last_updated(platform: Platform, restaurant: Restaurant) -> str:
    """When the menu was last published: the newest menus event's publishedDate, else when the
    restaurant was connected."""
    event = await platform.log.latest("menus", restaurant.guid, platform.now())
    if event is not None:
        return str(json.loads(event.body)["details"]["publishedDate"])
    return iso_utc(epoch_millis(restaurant.created_at))


def _restaurant(platform: Platform, guid: str) -> Restaurant:
    return platform.restaurant(guid) or placeholder_restaurant(guid)


@routes.get("/menus/v2/metadata")
@guarded("menus:read")
async def metadata(request: web.Request, restaurant_guid: str) -> web.Response:
    platform = request.app[PLATFORM]
    restaurant = _restaurant(platform, restaurant_guid)
    return web.json_response({"restaurantGuid": restaurant_guid,
                              "lastUpdated": await last_updated(platform, restaurant)})


@routes.get("/menus/v2/menus")
@guarded("menus:read")
async def menus(request: web.Request, restaurant_guid: str) -> web.Response:
    platform = request.app[PLATFORM]
    headers = take_rate(platform, f"menus:{restaurant_guid}", MENUS_PER_SECOND)
    restaurant = _restaurant(platform, restaurant_guid)
    document = menus_document(restaurant, await last_updated(platform, restaurant))
    return web.json_response(document, headers=headers)



def menus_document(restaurant: Restaurant, updated: str) -> dict[str, Any]:
    """Toast's menus v2 Restaurant object for the restaurant's kitchen."""
    kitchen = kitchen_of(restaurant)
    taxes = [rate.ref.guid for rate in kitchen.taxes]
    options = {str(_OPTION_GROUP_ID + 1 + index): {
        "referenceId": _OPTION_GROUP_ID + 1 + index, "name": modifier.name, "kitchenName": modifier.name,
        "guid": modifier.ref.guid, "multiLocationId": None, "masterId": None, "description": "",
        "posName": modifier.name, "visibility": _VISIBILITY, "price": modifier.price / 100,
        "pricingStrategy": "BASE_PRICE", "salesCategory": None, "taxInfo": [], "plu": "",
        "isDefault": False, "allowsDuplicates": False, "modifierGroupReferences": [],
        "sortOrder": index} for index, modifier in enumerate(kitchen.modifiers)}
    group = {str(_OPTION_GROUP_ID): {
        "referenceId": _OPTION_GROUP_ID, "name": "Options", "guid": kitchen.option_group.guid,
        "multiLocationId": None, "masterId": None, "posName": "Options", "visibility": _VISIBILITY,
        "pricingStrategy": "NONE", "minSelections": 0, "maxSelections": len(options),
        "requiredMode": "OPTIONAL", "isMultiSelect": True,
        "modifierOptionReferences": [int(key) for key in options]}}
    groups = [("Food", kitchen.items, True), ("Drinks", kitchen.drinks, False)]
    rng = random.Random(restaurant.guid + "/menu")
    return {
        "restaurantGuid": restaurant.guid, "lastUpdated": updated,
        "restaurantTimeZone": restaurant.timezone,
        "menus": [{
            "name": "All Day", "guid": new_guid(rng), "multiLocationId": None, "masterId": None,
            "description": "", "posName": "All Day", "highResImage": None, "image": None,
            "visibility": _VISIBILITY, "availability": {"alwaysAvailable": True, "schedule": []},
            "menuGroups": [{
                "name": name, "guid": items[0].group.guid, "multiLocationId": None, "masterId": None,
                "description": "", "posName": name, "image": None, "visibility": _VISIBILITY,
                "itemTags": [], "menuGroups": [],
                "menuItems": [_menu_item(item, index, taxes, modifiable)
                              for index, item in enumerate(items)],
            } for name, items, modifiable in groups if items],
        }],
        "modifierGroupReferences": group, "modifierOptionReferences": options,
        "preModifierGroupReferences": {},
    }


def _menu_item(item: Item, index: int, taxes: list[str], modifiable: bool) -> dict[str, Any]:
    return {
        "name": item.name, "kitchenName": item.name, "guid": item.ref.guid,
        "multiLocationId": item.multi_location_id, "masterId": None, "description": "",
        "posName": item.name, "image": None, "visibility": _VISIBILITY, "price": item.price / 100,
        "pricingStrategy": "BASE_PRICE", "pricingRules": None, "isDeferred": False,
        "isDiscountable": True,
        "salesCategory": {"name": "Food" if modifiable else "Beverages", "guid": item.sales_category.guid},
        "taxInfo": taxes, "taxInclusion": "TAX_NOT_INCLUDED", "itemTags": [], "plu": item.plu,
        "sku": "", "calories": None, "contentAdvisories": None, "unitOfMeasure": "NONE",
        "portions": [], "prepTime": None, "prepStations": [],
        "modifierGroupReferences": [_OPTION_GROUP_ID] if modifiable else [],
        "eligiblePaymentAssistancePrograms": [], "allergens": [], "images": [],
        "guestCount": None, "sortOrder": index,
    }


_STOCK_STATUSES = ("OUT_OF_STOCK", "QUANTITY")


@routes.get("/stock/v1/inventory")
@guarded("stock:read")
async def inventory(request: web.Request, restaurant_guid: str) -> web.Response:
    """Items whose newest stock event left them OUT_OF_STOCK or QUANTITY (Toast leaves IN_STOCK
    items out), optionally one ``status`` only."""
    platform = request.app[PLATFORM]
    wanted = request.query.get("status")
    if wanted is not None and wanted not in _STOCK_STATUSES:
        raise bad_request(f"status must be OUT_OF_STOCK or QUANTITY, got {wanted!r}", "status")
    items = []
    for event in await platform.log.latest_per_item(restaurant_guid, platform.now()):
        details = json.loads(event.body)["details"]
        if details["status"] in _STOCK_STATUSES and wanted in (None, details["status"]):
            items.append(inventory_item(details))
    items.sort(key=lambda item: item["guid"])
    return web.json_response(items)


def inventory_item(details: dict[str, Any]) -> dict[str, Any]:
    """A stock event's details as Toast's MenuItemInventory."""
    return {"guid": details["itemGuid"], "itemGuidValidity": "VALID", "status": details["status"],
            "quantity": details.get("quantity"), "multiLocationId": details.get("multiLocationId"),
            "versionId": details.get("versionId")}
