"""Adding a category is local: a spec registered from outside works end to end."""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from typing import Any

import pytest

from dispatcher.events import (
    CATEGORIES, CategorySpec, EventError, Restaurant, categories, check_enum, check_guid, event_types,
    World, make_event, register, simulated_restaurants, unregister,
)

AT = 1711638661.05
WORLD = simulated_restaurants(4, seed=2)


def _build(event_type: str, restaurant: Restaurant, rng: random.Random, at: float,
           world: World) -> dict[str, Any]:
    return {"restaurantGuid": restaurant.guid, "orderStatus": rng.choice(("READY", "PICKED_UP"))}


def _validate(event_type: str, details: Mapping[str, Any]) -> None:
    check_guid(details, "restaurantGuid")
    check_enum(details, "orderStatus", ("READY", "PICKED_UP"))


FAKE = CategorySpec(name="loyalty_fake", event_types=("status_changed",), restaurant_scoped=True,
                    build=_build, validate=_validate)


@pytest.fixture
def fake_category():
    register(FAKE)
    yield FAKE
    unregister(FAKE.name)


def test_a_registered_category_makes_events(fake_category):
    assert categories()[-1] == "loyalty_fake"
    assert event_types("loyalty_fake") == ("status_changed",)
    event = make_event("loyalty_fake", at=AT, rng=random.Random(0), restaurants=WORLD)
    envelope = json.loads(event.body())
    assert envelope["eventCategory"] == "loyalty_fake" and envelope["eventType"] == "status_changed"
    assert envelope["details"]["orderStatus"] in {"READY", "PICKED_UP"}
    assert event.route_key == f"loyalty_fake.{event.restaurant_guid}"
    with pytest.raises(EventError) as err:
        make_event("loyalty_fake", at=AT, rng=random.Random(0), restaurants=WORLD,
                   details={"orderStatus": "LOST"})
    assert err.value.field == "details.orderStatus"


def test_unregistering_removes_it():
    register(FAKE)
    unregister(FAKE.name)
    assert "loyalty_fake" not in categories()
    with pytest.raises(EventError):
        make_event("loyalty_fake", at=AT, rng=random.Random(0), restaurants=WORLD)


def test_names_are_unique_and_types_required(fake_category):
    with pytest.raises(ValueError, match="already registered"):
        register(FAKE)
    with pytest.raises(ValueError, match="at least one event type"):
        register(CategorySpec(name="empty", event_types=(), restaurant_scoped=True,
                              build=_build, validate=_validate))


def test_the_registry_is_read_only():
    assert set(CATEGORIES) == set(categories())
    with pytest.raises(TypeError):
        CATEGORIES["menus"] = CATEGORIES["stock"]  # type: ignore[index]
