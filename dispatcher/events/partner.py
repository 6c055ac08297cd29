"""partner: the integration was added to, removed from or updated at a restaurant.

All three types carry the same full record of the restaurant and the connection; fields
the restaurant lacks are JSON null, never omitted. Partner events are not
restaurant-scoped: they get no Toast-Restaurant-External-ID header.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from typing import Any

from dispatcher.events import (
    CategorySpec, EventError, Restaurant, World, check_guid, check_integer, check_iso_utc, check_string,
    epoch_millis, iso_utc,
)

_NULLABLE_STRINGS = (
    "createdByFirstName", "createdByLastName", "createdByEmailAddress", "createdByPhoneNumber",
    "restaurantPhoneNumber", "restaurantAddressLine1", "restaurantAddressLine2",
    "restaurantCity", "restaurantState", "restaurantZipCode",
)
_COUNTRY = re.compile(r"[A-Z]{2}")
_TIMEZONE = re.compile(r"UTC|[A-Z][A-Za-z_]+(?:/[A-Za-z0-9_+\-]+)+")
_DEGREES = re.compile(r"-?[0-9]{1,3}(?:\.[0-9]+)?")


def _build(event_type: str, restaurant: Restaurant, rng: random.Random, at: float,
           world: World) -> dict[str, Any]:
    now = epoch_millis(at)
    # partner_added creates the connection now; the others report when it was made.
    created = min(epoch_millis(restaurant.created_at), now)
    if event_type == "partner_added":
        created = now
    # partner_updated modifies the connection now. partner_removed reports the connection as it
    # was (Toast's example: its dates untouched, equal to the creation); only the envelope
    # timestamp is the removal time.
    modified = created if event_type == "partner_removed" else now
    return {
        "restaurantGuid": restaurant.guid,
        "managementGroupGuid": restaurant.management_group_guid,
        "restaurantName": restaurant.name,
        "locationName": restaurant.location_name,
        "externalGroupRef": restaurant.external_group_ref,
        "externalRestaurantRef": restaurant.external_restaurant_ref,
        "modifiedDate": modified,
        "createdDate": created,
        "isoModifiedDate": iso_utc(modified),
        "isoCreatedDate": iso_utc(created),
        "createdByFirstName": restaurant.created_by_first_name,
        "createdByLastName": restaurant.created_by_last_name,
        "createdByEmailAddress": restaurant.created_by_email,
        "createdByPhoneNumber": restaurant.created_by_phone,
        "restaurantPhoneNumber": restaurant.phone,
        "restaurantAddressLine1": restaurant.address_line1,
        "restaurantAddressLine2": restaurant.address_line2,
        "restaurantCity": restaurant.city,
        "restaurantState": restaurant.state,
        "restaurantZipCode": restaurant.zip_code,
        "restaurantCountryCode": restaurant.country_code,
        "restaurantTimezone": restaurant.timezone,
        "restaurantLatitude": restaurant.latitude,
        "restaurantLongitude": restaurant.longitude,
    }


def _validate(event_type: str, details: Mapping[str, Any]) -> None:
    check_guid(details, "restaurantGuid")
    check_guid(details, "managementGroupGuid", nullable=True)
    check_string(details, "restaurantName")
    for key in ("locationName", "externalGroupRef", "externalRestaurantRef"):
        check_string(details, key, nullable=True)
    for key in ("modifiedDate", "createdDate"):
        check_integer(details, key, expected="epoch milliseconds as a JSON integer")
    for key in ("isoModifiedDate", "isoCreatedDate"):
        check_iso_utc(details, key)
    for key in _NULLABLE_STRINGS:
        check_string(details, key, nullable=True)
    check_string(details, "restaurantCountryCode", pattern=_COUNTRY,
                 expected="a two-letter country code like 'US'")
    check_string(details, "restaurantTimezone", pattern=_TIMEZONE,
                 expected="an IANA time zone like 'America/New_York'")
    _check_degrees(details, "restaurantLatitude", 90)
    _check_degrees(details, "restaurantLongitude", 180)


def _check_degrees(details: Mapping[str, Any], key: str, limit: int) -> None:
    expected = f"decimal degrees within ±{limit} as a string like '42.346820'"
    value = check_string(details, key, nullable=True, pattern=_DEGREES, expected=expected)
    if value is not None and abs(float(value)) > limit:
        raise EventError(f"details.{key}", f"expected {expected} or null, got {value!r}")


SPEC = CategorySpec(name="partner", event_types=("partner_added", "partner_removed", "partner_updated"),
                    restaurant_scoped=False, build=_build, validate=_validate)
