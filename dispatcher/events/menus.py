"""menus: ``menus_updated``, sent when a restaurant publishes menu changes."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from dispatcher.events import (
    CategorySpec, Restaurant, World, check_guid, check_iso_utc, epoch_millis, iso_utc,
)

# Toast sends the webhook after the publish completes, so publishedDate trails the event a little.
_PUBLISH_LAG_MS = 60_000


def _build(event_type: str, restaurant: Restaurant, rng: random.Random, at: float,
           world: World) -> dict[str, Any]:
    published = epoch_millis(at) - rng.randint(0, _PUBLISH_LAG_MS)
    return {"restaurantGuid": restaurant.guid, "publishedDate": iso_utc(published)}


def _validate(event_type: str, details: Mapping[str, Any]) -> None:
    check_guid(details, "restaurantGuid")
    check_iso_utc(details, "publishedDate")


SPEC = CategorySpec(name="menus", event_types=("menus_updated",), restaurant_scoped=True,
                    build=_build, validate=_validate)
