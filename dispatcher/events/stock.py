"""stock: an item's inventory changed (``in_stock``, ``out_of_stock``, ``low_quantity``).

Toast's threshold is fixed at 5: a quantity of 0 is out of stock, above 0 and up to 5 is
low, above 5 is in stock. ``quantity`` is present exactly when ``status`` is QUANTITY and
is always a float, so JSON renders it with a fraction (``5.0``) as Toast does.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from typing import Any

from dispatcher.events import (
    CategorySpec, EventError, Restaurant, World, check_enum, check_float, check_guid, check_string,
)

LOW_QUANTITY_THRESHOLD = 5.0

_KEYS = ("itemGuid", "restaurantGuid", "status", "quantity", "multiLocationId", "versionId")
_STATUSES_BY_TYPE = {
    "in_stock": ("IN_STOCK", "QUANTITY"),
    "out_of_stock": ("OUT_OF_STOCK",),
    "low_quantity": ("QUANTITY",),
}
_QUANTITY_RULE = {"in_stock": "quantity > 5.0", "low_quantity": "0 < quantity <= 5.0"}
_DIGITS = re.compile(r"[0-9]+")


def event_type_for_quantity(quantity: float) -> str:
    """The event Toast sends when an item's quantity is set to ``quantity``."""
    if quantity <= 0:
        return "out_of_stock"
    return "low_quantity" if quantity <= LOW_QUANTITY_THRESHOLD else "in_stock"


def _build(event_type: str, restaurant: Restaurant, rng: random.Random, at: float,
           world: World) -> dict[str, Any]:
    if not restaurant.items:
        raise EventError("restaurant.items", f"stock events need a menu item; {restaurant.guid} has none")
    item = rng.choice(restaurant.items)
    details: dict[str, Any] = {"itemGuid": item.guid, "restaurantGuid": restaurant.guid}
    if event_type == "out_of_stock":
        details["status"] = "OUT_OF_STOCK"
    elif event_type == "low_quantity":
        details |= {"status": "QUANTITY", "quantity": rng.randint(1, 10) / 2}  # 0.5 .. 5.0
    elif rng.random() < 0.5:
        details["status"] = "IN_STOCK"  # marked in stock by hand
    else:
        details |= {"status": "QUANTITY", "quantity": rng.randint(11, 100) / 2}  # 5.5 .. 50.0
    # Toast's examples repeat the item GUID as the reserved versionId.
    return details | {"multiLocationId": item.multi_location_id, "versionId": item.guid}


def _merge(event_type: str, restaurant: Restaurant, generated: Mapping[str, Any],
           given: Mapping[str, Any]) -> dict[str, Any]:
    """Given fields win; generated fields they contradict follow them, in Toast's key order.

    A given quantity implies status QUANTITY; a given other status drops the generated
    quantity; a given item of this restaurant brings its multiLocationId and versionId.
    """
    details = {**generated, **given}
    if "itemGuid" in given:
        item = next((i for i in restaurant.items if i.guid == given["itemGuid"]), None)
        if item is not None and "multiLocationId" not in given:
            details["multiLocationId"] = item.multi_location_id
        if "versionId" not in given:
            details["versionId"] = given["itemGuid"]
    if "quantity" in given and "status" not in given:
        details["status"] = "QUANTITY"
    elif "status" in given and "quantity" not in given and given["status"] != "QUANTITY":
        details.pop("quantity", None)
    ordered = {key: details[key] for key in _KEYS if key in details}
    return ordered | details


def _validate(event_type: str, details: Mapping[str, Any]) -> None:
    check_guid(details, "itemGuid")
    check_guid(details, "restaurantGuid")
    allowed = _STATUSES_BY_TYPE[event_type]
    status = check_enum(details, "status", ("IN_STOCK", "OUT_OF_STOCK", "QUANTITY"))
    if status not in allowed:
        raise EventError("details.status", f"{event_type} has status {' or '.join(allowed)}, got {status!r}")
    if status == "QUANTITY":
        quantity = check_float(details, "quantity")
        if event_type_for_quantity(quantity) != event_type:
            raise EventError("details.quantity", f"{event_type} needs {_QUANTITY_RULE[event_type]}, got"
                             f" {quantity!r} (a quantity for {event_type_for_quantity(quantity)})")
    elif "quantity" in details:
        raise EventError("details.quantity",
                         f"must be absent when status is {status}, got {details['quantity']!r}")
    check_string(details, "multiLocationId", pattern=_DIGITS, expected="a string of digits")
    check_string(details, "versionId")


SPEC = CategorySpec(name="stock", event_types=tuple(_STATUSES_BY_TYPE), restaurant_scoped=True,
                    build=_build, validate=_validate, merge=_merge)
