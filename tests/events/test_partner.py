"""partner: the full restaurant record, nulls kept, dates in epoch ms and ISO, no restaurant scope."""

from __future__ import annotations

import dataclasses
import json
import random
import re

import pytest

from dispatcher.events import EventError, event_types, make_event, simulated_restaurants, validate_details

AT = 1711638661.05
WORLD = simulated_restaurants(12, seed=7)
ISO_MILLIS_Z = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

KEYS = [
    "restaurantGuid", "managementGroupGuid", "restaurantName", "locationName", "externalGroupRef",
    "externalRestaurantRef", "modifiedDate", "createdDate", "isoModifiedDate", "isoCreatedDate",
    "createdByFirstName", "createdByLastName", "createdByEmailAddress", "createdByPhoneNumber",
    "restaurantPhoneNumber", "restaurantAddressLine1", "restaurantAddressLine2", "restaurantCity",
    "restaurantState", "restaurantZipCode", "restaurantCountryCode", "restaurantTimezone",
    "restaurantLatitude", "restaurantLongitude",
]
NULLABLE = {
    "managementGroupGuid", "locationName", "externalGroupRef", "externalRestaurantRef", "createdByFirstName",
    "createdByLastName", "createdByEmailAddress", "createdByPhoneNumber", "restaurantPhoneNumber",
    "restaurantAddressLine1", "restaurantAddressLine2", "restaurantCity", "restaurantState",
    "restaurantZipCode", "restaurantLatitude", "restaurantLongitude",
}
BARE = dataclasses.replace(
    WORLD[0], management_group_guid=None, location_name=None, external_group_ref=None,
    external_restaurant_ref=None, created_by_phone=None, address_line2=None, latitude=None, longitude=None,
)


def _partner(event_type, restaurant=WORLD[0], **kwargs):
    return make_event("partner", at=AT, rng=random.Random(0), restaurants=[restaurant], event_type=event_type,
                      **kwargs)


@pytest.mark.parametrize("event_type", event_types("partner"))
@pytest.mark.parametrize("restaurant", [*WORLD, BARE], ids=lambda r: r.guid[:8])
def test_every_key_is_present_with_its_json_type(event_type, restaurant):
    event = _partner(event_type, restaurant)
    details = json.loads(event.body())["details"]
    assert list(details) == KEYS
    for key, value in details.items():
        if key in {"modifiedDate", "createdDate"}:
            assert type(value) is int, key
        elif value is None:
            assert key in NULLABLE, key
        else:
            assert type(value) is str, key
    assert GUID.fullmatch(details["restaurantGuid"])
    assert ISO_MILLIS_Z.fullmatch(details["isoModifiedDate"])
    assert ISO_MILLIS_Z.fullmatch(details["isoCreatedDate"])
    if details["restaurantLatitude"] is not None:
        assert abs(float(details["restaurantLatitude"])) <= 90
        assert abs(float(details["restaurantLongitude"])) <= 180


def test_missing_restaurant_fields_are_json_null_not_omitted():
    body = _partner("partner_updated", BARE).body()
    for key in ("managementGroupGuid", "locationName", "externalGroupRef", "externalRestaurantRef",
                "createdByPhoneNumber", "restaurantAddressLine2", "restaurantLatitude",
                "restaurantLongitude"):
        assert f'"{key}":null'.encode() in body


def test_details_copy_the_restaurant():
    r = WORLD[0]
    details = _partner("partner_updated", r).details
    assert details["restaurantGuid"] == r.guid and details["managementGroupGuid"] == r.management_group_guid
    assert (details["restaurantName"], details["locationName"]) == (r.name, r.location_name)
    assert (details["restaurantCity"], details["restaurantState"], details["restaurantZipCode"]) == (
        r.city, r.state, r.zip_code)
    assert (details["restaurantTimezone"], details["restaurantCountryCode"]) == (r.timezone, "US")
    assert details["createdByEmailAddress"] == r.created_by_email


def test_partner_events_are_not_restaurant_scoped():
    for event_type in event_types("partner"):
        event = _partner(event_type)
        assert event.restaurant_guid is None
        assert event.route_key == f"partner.{WORLD[0].guid}"


def test_dates_agree_with_the_event_time():
    r = WORLD[0]
    updated = _partner("partner_updated", r)
    assert updated.details["modifiedDate"] == 1711638661050
    assert updated.details["isoModifiedDate"] == updated.timestamp == "2024-03-28T15:11:01.050Z"
    assert updated.details["createdDate"] == round(r.created_at * 1000) < 1711638661050
    added = _partner("partner_added", r)
    assert added.details["createdDate"] == added.details["modifiedDate"] == 1711638661050
    assert added.details["isoCreatedDate"] == "2024-03-28T15:11:01.050Z"
    early = make_event("partner", at=r.created_at - 86400, rng=random.Random(0), restaurants=[r],
                       event_type="partner_removed")
    assert early.details["createdDate"] <= early.details["modifiedDate"]


def test_partner_removed_keeps_the_connections_dates_and_only_the_timestamp_is_the_removal():
    r = WORLD[0]
    removed = _partner("partner_removed", r)
    created = round(r.created_at * 1000)
    assert removed.timestamp == "2024-03-28T15:11:01.050Z"
    # As in Toast's example: modifiedDate equals createdDate, both the connection's.
    assert removed.details["modifiedDate"] == removed.details["createdDate"] == created
    assert removed.details["isoModifiedDate"] == removed.details["isoCreatedDate"]
    assert removed.details["isoCreatedDate"] != removed.timestamp


def test_explicit_details_are_merged_over_generated_ones():
    event = _partner("partner_updated",
                     details={"externalRestaurantRef": "boston01", "restaurantAddressLine2": None})
    assert event.details["externalRestaurantRef"] == "boston01"
    assert event.details["restaurantAddressLine2"] is None
    assert event.details["restaurantName"] == WORLD[0].name


@pytest.mark.parametrize(("details", "field"), [
    ({"modifiedDate": "1568667977351"}, "details.modifiedDate"),
    ({"createdDate": 1568667880240.0}, "details.createdDate"),
    ({"createdDate": True}, "details.createdDate"),
    ({"isoCreatedDate": "2019-09-16 21:01:53"}, "details.isoCreatedDate"),
    ({"managementGroupGuid": "toastgrill"}, "details.managementGroupGuid"),
    ({"restaurantName": None}, "details.restaurantName"),
    ({"restaurantCountryCode": None}, "details.restaurantCountryCode"),
    ({"restaurantCountryCode": "USA"}, "details.restaurantCountryCode"),
    ({"restaurantTimezone": "EST-ish"}, "details.restaurantTimezone"),
    ({"restaurantLatitude": 42.1}, "details.restaurantLatitude"),
    ({"restaurantLatitude": "95.0"}, "details.restaurantLatitude"),
    ({"restaurantLongitude": "east"}, "details.restaurantLongitude"),
    ({"restaurantZipCode": 2215}, "details.restaurantZipCode"),
])
def test_invalid_details_name_the_field(details, field):
    with pytest.raises(EventError) as err:
        _partner("partner_updated", details=details)
    assert err.value.field == field


@pytest.mark.parametrize("key", KEYS)
def test_every_key_is_required(key):
    details = dict(_partner("partner_removed").details)
    del details[key]
    with pytest.raises(EventError, match="required") as err:
        validate_details("partner", "partner_removed", details)
    assert err.value.field == f"details.{key}"


def test_toasts_own_example_validates():
    validate_details("partner", "partner_updated", {
        "restaurantGuid": "00000000-1111-2222-3333-444444444444",
        "managementGroupGuid": "55555555-6666-7777-8888-999999999999",
        "restaurantName": "Toast Grill & Tap", "locationName": "Fenway, Boston, MA",
        "externalGroupRef": "toastgrill", "externalRestaurantRef": "boston01",
        "modifiedDate": 1568667977351, "createdDate": 1568667880240,
        "isoModifiedDate": "2019-09-16T21:14:02.142Z", "isoCreatedDate": "2019-09-16T21:01:53.685Z",
        "createdByFirstName": "Toast", "createdByLastName": "Admin", "createdByEmailAddress": "",
        "createdByPhoneNumber": None, "restaurantPhoneNumber": "6175551234",
        "restaurantAddressLine1": "401 Park Drive", "restaurantAddressLine2": None,
        "restaurantCity": "Boston",
        "restaurantState": "MA", "restaurantZipCode": "02215", "restaurantCountryCode": "US",
        "restaurantTimezone": "America/New_York", "restaurantLatitude": "42.346820",
        "restaurantLongitude": "-71.098790",
    })
