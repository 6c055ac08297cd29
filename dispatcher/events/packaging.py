"""packaging: ``packaging_updated``, a restaurant changed its packaging preferences in Toast Web.

``details`` = ``{packagingConfig: {enabled, items: [...], guestMessage}}`` as in Toast's example:
no restaurantGuid (the restaurant is in the Toast-Restaurant-External-ID header). The envelope's
eventCategory is ``packaging`` (the example) or ``partner`` (Toast's prose):
``dispatcher.packaging_event_category``. Each restaurant has a stable set of packaging items (the
same ``id`` in every message, as orders submitting preferences need); an update changes what a
restaurant would change: whether options are shown, an item's opt-in/opt-out, the message.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from typing import Any

from dispatcher.events import (
    CategorySpec, Decisions, EventError, Restaurant, World, check_enum, check_guid, new_guid,
)

INCLUSION_TYPES = ("OPT_IN", "OPT_OUT")
# (itemTypes, guestDisplayName, guestDescription)
_ITEMS = (
    (("UTENSILS",), "Utensils", "A fork, knife and spoon."),
    (("NAPKINS",), "Napkins", None),
    (("CONDIMENTS",), "Ketchup and mustard", "Includes ketchup and mustard only."),
    (("STRAWS",), "Straws", "Paper straws."),
    (("UTENSILS", "NAPKINS"), "Utensils and napkins", "One set per entrée."),
)
_MESSAGES = ("Choose your packaging preferences to complete your order. ",
             "Help us cut waste: only ask for what you need.", None)


def _build(event_type: str, restaurant: Restaurant, rng: random.Random, at: float,
           world: World) -> dict[str, Any]:
    base = random.Random(uuid.UUID(restaurant.guid).int ^ 0x7061636B)   # "pack": stable per restaurant
    offered = base.sample(_ITEMS, base.randint(2, len(_ITEMS)))
    return {"packagingConfig": {
        "enabled": rng.random() < 0.85,
        "items": [{"id": new_guid(base), "itemTypes": list(types), "guestDisplayName": name,
                   "guestInclusionType": rng.choice(INCLUSION_TYPES), "guestDescription": description}
                  for types, name, description in offered],
        "guestMessage": rng.choice(_MESSAGES),
    }}


def _validate(event_type: str, details: Mapping[str, Any]) -> None:
    config = details.get("packagingConfig")
    if not isinstance(config, Mapping):
        raise EventError("details.packagingConfig", f"expected a JSON object, got {config!r}")
    if not isinstance(config.get("enabled"), bool):
        raise EventError("details.packagingConfig.enabled",
                         f"expected true or false, got {config.get('enabled')!r}")
    items = config.get("items")
    if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
        raise EventError("details.packagingConfig.items", f"expected an array of objects, got {items!r}")
    for index, item in enumerate(items):
        where = f"packagingConfig.items[{index}]"
        try:
            check_guid(item, "id")
            check_enum(item, "guestInclusionType", INCLUSION_TYPES)
        except EventError as exc:
            raise EventError(f"details.{where}.{exc.field.removeprefix('details.')}", str(exc)) from None
        types = item.get("itemTypes")
        if not isinstance(types, list) or not types or not all(isinstance(t, str) for t in types):
            raise EventError(f"details.{where}.itemTypes", f"expected an array of strings, got {types!r}")
        for key in ("guestDisplayName", "guestDescription"):
            if item.get(key) is not None and not isinstance(item[key], str):
                raise EventError(f"details.{where}.{key}", f"expected a string or null, got {item[key]!r}")
    if config.get("guestMessage") is not None and not isinstance(config["guestMessage"], str):
        raise EventError("details.packagingConfig.guestMessage",
                         f"expected a string or null, got {config['guestMessage']!r}")


def _envelope_category(event_type: str, decisions: Decisions) -> str:
    return decisions.packaging_event_category


SPEC = CategorySpec(name="packaging", event_types=("packaging_updated",), restaurant_scoped=True,
                    build=_build, validate=_validate, envelope_category=_envelope_category)
