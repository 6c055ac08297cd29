"""Property: any category, type, seed, world and moment gives a valid, reproducible event."""

from __future__ import annotations

import json
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from dispatcher.events import categories, event_types, make_event, simulated_restaurants, validate_details

CATEGORY_TYPES = [(category, event_type) for category in categories() for event_type in event_types(category)]
SPEC_KEYS = {
    "menus": {"restaurantGuid", "publishedDate"},
    "stock": {"itemGuid", "restaurantGuid", "status", "multiLocationId", "versionId"},
    "partner": {
        "restaurantGuid", "managementGroupGuid", "restaurantName", "locationName", "externalGroupRef",
        "externalRestaurantRef", "modifiedDate", "createdDate", "isoModifiedDate", "isoCreatedDate",
        "createdByFirstName", "createdByLastName", "createdByEmailAddress", "createdByPhoneNumber",
        "restaurantPhoneNumber", "restaurantAddressLine1", "restaurantAddressLine2", "restaurantCity",
        "restaurantState", "restaurantZipCode", "restaurantCountryCode", "restaurantTimezone",
        "restaurantLatitude", "restaurantLongitude",
    },
    "restaurant_availability": {"restaurantGuid", "status", "reasonKey", "reason"},
    "restaurant_availability_toggle": {"restaurantGuid", "status", "reasonKey", "reason"},
    "orders": {"restaurantGuid", "order"},
    "guest_order_status": {"eventGuid", "orderGuid", "restaurantGuid", "guestOrderStatus", "lastUpdated",
                           "version"},
    "packaging": {"packagingConfig"},
    "ordering_schedule": {"restaurantGuid", "orderingSchedule"},
}


@settings(max_examples=300, deadline=None)
@given(
    pair=st.sampled_from(CATEGORY_TYPES),
    seed=st.integers(min_value=0, max_value=2**64),
    count=st.integers(min_value=1, max_value=30),
    at=st.floats(min_value=0, max_value=4_102_444_800),  # up to 2100
)
def test_any_category_type_and_seed_makes_a_valid_event(pair, seed, count, at):
    category, event_type = pair
    world = simulated_restaurants(count, seed)
    event = make_event(category, at=at, rng=random.Random(seed), restaurants=world, event_type=event_type)
    envelope = json.loads(event.body())
    validate_details(category, envelope["eventType"], envelope["details"])
    keys = set(envelope["details"])
    if category == "stock" and envelope["details"]["status"] == "QUANTITY":
        keys.discard("quantity")
    assert keys == SPEC_KEYS[category]
    if category == "packaging":   # Toast's example: the restaurant is only in the header
        assert event.restaurant_guid in {r.guid for r in world}
    else:
        assert event.restaurant_guid == (None if category == "partner" else envelope["details"]["restaurantGuid"])
    again = make_event(category, at=at, rng=random.Random(seed),
                       restaurants=simulated_restaurants(count, seed), event_type=event_type)
    assert again.body() == event.body()
