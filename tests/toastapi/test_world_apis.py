"""Partners, availability, ordering schedule, menus and stock at Toast's paths: each the newest
event of its category (what the webhook said), else the simulated world's starting state."""

from __future__ import annotations

from typing import Any

from dispatcher.clock import iso
from dispatcher.events import epoch_millis, iso_utc
from tests.toastapi.conftest import Toast
from tests.toastapi.schemas import validate
from tests.toastapi.test_orders_api import error_shape, make_orders


async def send(toast: Toast, category: str, restaurant: str | None = None, **kwargs: Any) -> Any:
    events = await toast.dispatcher.service.send_events(category=category, restaurant_guid=restaurant,
                                                        **kwargs)
    return events[0]


async def test_partners_list_the_world_and_follow_partner_events(toast):
    d = toast.dispatcher
    world = {r.guid for r in d.service.restaurants}
    listed = await toast.get("/partners/v1/restaurants", None)
    assert {r["restaurantGuid"] for r in listed} == world
    for rep in listed:
        validate("partners.yaml", "PartnerAccessExternalRep", rep)
        assert rep["deleted"] is False
    d.clock.advance(10)
    since = iso(d.clock.now()).replace("Z", "+0000")
    removed = d.service.restaurants[2].guid
    newcomer = "0cd990c9-fd74-461d-8468-de2a0919ccbb"
    await send(toast, "partner", event_type="partner_removed", details={"restaurantGuid": removed})
    d.clock.advance(1)
    added = await send(toast, "partner", event_type="partner_added", details={"restaurantGuid": newcomer})
    changed = await toast.get("/partners/v1/restaurants", None, lastModified=since)
    assert [(r["restaurantGuid"], r["deleted"]) for r in changed] == [(removed, True), (newcomer, False)]
    assert changed[0]["modifiedDate"] == epoch_millis(d.clock.now() - 1)   # when it was removed
    assert changed[1]["restaurantName"] == added.details["restaurantName"]
    assert changed[1]["createdDate"] == added.details["createdDate"]
    everything = await toast.get("/partners/v1/restaurants", None)
    assert {r["restaurantGuid"] for r in everything} == world | {newcomer}
    # A newly connected restaurant is readable; a removed one is not.
    assert (await toast.get("/menus/v2/metadata", newcomer))["restaurantGuid"] == newcomer
    await toast.get("/menus/v2/metadata", removed, 403)
    error_shape(await toast.get("/partners/v1/restaurants", None, 400, lastModified="soon"), 400)


async def test_availability_combines_autofire_and_toggle_and_follows_a_snooze(toast):
    d = toast.dispatcher
    restaurant = d.service.restaurants[0]
    path = "/restaurant-availability/v1/availability"
    assert await toast.get(path, restaurant.guid) == {
        "restaurantGuid": restaurant.guid, "status": "ONLINE", "reasonKey": "AVAILABILITY_ONLINE",
        "reason": "Restaurant is approving online orders"}
    await send(toast, "restaurant_availability", restaurant.guid, event_type="availability_offline")
    assert (await toast.get(path, restaurant.guid))["reasonKey"] == "AVAILABILITY_OFFLINE"
    d.clock.advance(1)
    await send(toast, "restaurant_availability", restaurant.guid, event_type="availability_online")
    assert (await toast.get(path, restaurant.guid))["status"] == "ONLINE"
    d.clock.advance(1)
    await d.service.snooze(kind="20m", restaurant_guid=restaurant.guid)
    snoozed = await toast.get(path, restaurant.guid)
    assert (snoozed["status"], snoozed["reasonKey"]) == ("OFFLINE", "TOGGLE_DISABLED")
    d.clock.advance(20 * 60 - 1)   # the end of the snooze is an event made ahead: not yet state
    assert (await toast.get(path, restaurant.guid))["status"] == "OFFLINE"
    d.clock.advance(1)
    assert (await toast.get(path, restaurant.guid))["status"] == "ONLINE"


async def test_ordering_schedule_is_the_last_published_one_in_text_times(toast):
    d = toast.dispatcher
    restaurant = d.service.restaurants[0].guid
    path = "/ordermgmt-config/v1/published/orderingSchedule"
    usual = await toast.get(path, restaurant)
    assert usual["orderingSchedule"]["overrides"] == []
    first = usual["orderingSchedule"]["servicePeriods"][0]["dayPeriods"][0]["timeRanges"][0]
    assert len(first["start"]) == 5 and first["start"][2] == ":"
    event = await send(toast, "ordering_schedule", restaurant)
    published = (await toast.get(path, restaurant))["orderingSchedule"]
    sent = event.details["orderingSchedule"]
    assert published["lastOrderConfiguration"] == sent["lastOrderConfiguration"]
    assert published["scheduledOrderMaxDays"] == sent["scheduledOrderMaxDays"]
    for period, sent_period in zip(published["servicePeriods"], sent["servicePeriods"]):
        for day, sent_day in zip(period["dayPeriods"], sent_period["dayPeriods"]):
            (span,), (sent_span,) = day["timeRanges"], sent_day["timeRanges"]
            assert span["start"] == "%02d:%02d" % tuple(sent_span["start"])


async def test_menus_metadata_and_the_menu_orders_are_made_of(toast):
    d = toast.dispatcher
    restaurant = d.service.restaurants[0]
    metadata = await toast.get("/menus/v2/metadata", restaurant.guid)
    validate("menus.yaml", "Metadata", metadata)
    assert metadata["lastUpdated"] == iso_utc(epoch_millis(restaurant.created_at))   # never published
    event = await send(toast, "menus", restaurant.guid)
    assert (await toast.get("/menus/v2/metadata", restaurant.guid))["lastUpdated"] == \
        event.details["publishedDate"]
    d.clock.advance(1)
    menu = await toast.get("/menus/v2/menus", restaurant.guid)
    # The three reference maps are keyed by referenceId (the spec's additionalProperties):
    # each value is checked as the object it holds, the rest as the Restaurant.
    maps = {key: menu[key] for key in ("modifierGroupReferences", "modifierOptionReferences",
                                       "preModifierGroupReferences")}
    validate("menus.yaml", "Restaurant", {**menu, **dict.fromkeys(maps)})
    for key, root in (("modifierGroupReferences", "ModifierGroup"),
                      ("modifierOptionReferences", "ModifierOption")):
        for reference, value in maps[key].items():
            validate("menus.yaml", root, value)
            assert value["referenceId"] == int(reference)
    assert menu["lastUpdated"] == event.details["publishedDate"]
    items = {item["guid"]: (group["guid"], item) for m in menu["menus"] for group in m["menuGroups"]
             for item in group["menuItems"]}
    options = {option["guid"]: option for option in menu["modifierOptionReferences"].values()}
    for order in await make_orders(toast, 25, restaurant.guid):
        for check in order["checks"]:
            for selection in check["selections"]:
                group, item = items[selection["item"]["guid"]]
                assert selection["itemGroup"]["guid"] == group
                assert selection["receiptLinePrice"] == item["price"]
                for modifier in selection["modifiers"]:
                    assert options[modifier["item"]["guid"]]["price"] == modifier["receiptLinePrice"]
    # Toast's /menus limit: one request per second per location.
    d.clock.advance(1)
    assert (await toast.client.get("/menus/v2/menus", headers=toast.headers(restaurant.guid))).status == 200
    response = await toast.client.get("/menus/v2/menus", headers=toast.headers(restaurant.guid))
    assert response.status == 429 and response.headers["Retry-After"] == "1"


async def test_stock_inventory_is_each_items_newest_stock_event(toast):
    d = toast.dispatcher
    restaurant = d.service.restaurants[0]
    path = "/stock/v1/inventory"
    assert await toast.get(path, restaurant.guid) == []
    first, second, third = (item.guid for item in restaurant.items[:3])
    await send(toast, "stock", restaurant.guid, event_type="out_of_stock", details={"itemGuid": first})
    await send(toast, "stock", restaurant.guid, event_type="low_quantity",
               details={"itemGuid": second, "quantity": 2.0})
    await send(toast, "stock", restaurant.guid, event_type="out_of_stock", details={"itemGuid": third})
    d.clock.advance(1)
    await send(toast, "stock", restaurant.guid, event_type="in_stock",
               details={"itemGuid": third, "status": "IN_STOCK"})   # back in stock: left out
    inventory = {item["guid"]: item for item in await toast.get(path, restaurant.guid)}
    assert set(inventory) == {first, second}
    for item in inventory.values():
        validate("stock.yaml", "MenuItemInventory", item)
    assert (inventory[first]["status"], inventory[first]["quantity"]) == ("OUT_OF_STOCK", None)
    assert (inventory[second]["status"], inventory[second]["quantity"]) == ("QUANTITY", 2.0)
    assert [i["guid"] for i in await toast.get(path, restaurant.guid, status="QUANTITY")] == [second]
    await toast.get(path, restaurant.guid, 400, status="IN_STOCK")
