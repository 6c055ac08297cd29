"""The simulated restaurant world that events are about.

Everything is derived from a seed (or, for a placeholder, from the restaurant GUID) so a
run can be reproduced byte for byte. Names, streets and coordinates come from small
built-in tables instead of a fake-data library, which keeps the catalogue dependency-free.
"""

from __future__ import annotations

import random
import re
import unicodedata
import uuid
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class MenuItem:
    """A stock-tracked menu item at one location."""

    guid: str
    name: str
    # Toast's cross-location identifier: the same for the item at every location of a group.
    multi_location_id: str


@dataclass(frozen=True)
class Restaurant:
    """A simulated restaurant location with every field partner events report."""

    guid: str
    name: str
    location_name: str | None
    management_group_guid: str | None
    external_group_ref: str | None
    external_restaurant_ref: str | None
    phone: str | None
    address_line1: str | None
    address_line2: str | None
    city: str | None
    state: str | None
    zip_code: str | None
    country_code: str
    timezone: str
    latitude: str | None
    longitude: str | None
    created_at: float  # when the partner connection was created, epoch seconds
    created_by_first_name: str | None
    created_by_last_name: str | None
    created_by_email: str | None
    created_by_phone: str | None
    items: tuple[MenuItem, ...]


def new_guid(rng: random.Random) -> str:
    """A version-4 UUID string drawn from ``rng``, so a seed reproduces every GUID.

    ``str(uuid.UUID(int=..., version=4))`` without building the UUID: the same variant and
    version bits, the same text.
    """
    value = (rng.getrandbits(128) & _UUID_KEEP) | _UUID_V4
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


# RFC 4122 variant (bits 62-63 of the clock_seq field: 10) and version 4 (bits 76-79).
_UUID_KEEP = ~((0xC000 << 48) | (0xF000 << 64)) & ((1 << 128) - 1)
_UUID_V4 = (0x8000 << 48) | (4 << 76)


@dataclass(frozen=True)
class _City:
    name: str
    state: str
    timezone: str
    latitude: float
    longitude: float
    area_code: str
    zip_codes: tuple[str, ...]
    streets: tuple[str, ...]
    neighborhoods: tuple[str, ...]


@dataclass(frozen=True)
class _Brand:
    name: str
    menu: tuple[str, ...]
    locations: int  # how many locations a group of this brand opens (1: independent)


_CITIES = (
    _City("Boston", "MA", "America/New_York", 42.3601, -71.0589, "617",
          ("02115", "02116", "02215"), ("Boylston Street", "Tremont Street", "Park Drive"),
          ("Back Bay", "Fenway", "South End")),
    _City("New York", "NY", "America/New_York", 40.7128, -74.0060, "212",
          ("10001", "10003", "10011"), ("West 14th Street", "Broadway", "Bleecker Street"),
          ("Chelsea", "East Village", "West Village")),
    _City("Chicago", "IL", "America/Chicago", 41.8781, -87.6298, "312",
          ("60607", "60614", "60622"), ("West Randolph Street", "North Clark Street", "Division Street"),
          ("West Loop", "Lincoln Park", "Wicker Park")),
    _City("Austin", "TX", "America/Chicago", 30.2672, -97.7431, "512",
          ("78701", "78702", "78704"), ("South Congress Avenue", "East 6th Street", "Rainey Street"),
          ("South Congress", "East Austin", "Downtown")),
    _City("Denver", "CO", "America/Denver", 39.7392, -104.9903, "303",
          ("80202", "80205", "80211"), ("Larimer Street", "Tennyson Street", "Blake Street"),
          ("LoDo", "RiNo", "Highlands")),
    _City("Phoenix", "AZ", "America/Phoenix", 33.4484, -112.0740, "602",
          ("85004", "85006", "85012"), ("North Central Avenue", "East Roosevelt Street", "Camelback Road"),
          ("Roosevelt Row", "Arcadia", "Midtown")),
    _City("Seattle", "WA", "America/Los_Angeles", 47.6062, -122.3321, "206",
          ("98101", "98103", "98122"), ("Pike Street", "Fremont Avenue North", "East Pine Street"),
          ("Capitol Hill", "Fremont", "Ballard")),
    _City("San Francisco", "CA", "America/Los_Angeles", 37.7749, -122.4194, "415",
          ("94103", "94110", "94117"), ("Valencia Street", "Haight Street", "Mission Street"),
          ("Mission District", "Haight-Ashbury", "SoMa")),
    _City("Portland", "OR", "America/Los_Angeles", 45.5152, -122.6784, "503",
          ("97205", "97209", "97214"), ("NW 23rd Avenue", "SE Division Street", "SW Morrison Street"),
          ("Pearl District", "Hawthorne", "Alberta Arts")),
    _City("Nashville", "TN", "America/Chicago", 36.1627, -86.7816, "615",
          ("37203", "37206", "37212"), ("Broadway", "Gallatin Avenue", "12th Avenue South"),
          ("The Gulch", "East Nashville", "12 South")),
    _City("Miami", "FL", "America/New_York", 25.7617, -80.1918, "305",
          ("33130", "33131", "33137"), ("Calle Ocho", "Brickell Avenue", "NW 2nd Avenue"),
          ("Little Havana", "Brickell", "Wynwood")),
    _City("New Orleans", "LA", "America/Chicago", 29.9511, -90.0715, "504",
          ("70112", "70116", "70130"), ("Magazine Street", "Frenchmen Street", "Royal Street"),
          ("French Quarter", "Marigny", "Garden District")),
    _City("Indianapolis", "IN", "America/Indiana/Indianapolis", 39.7684, -86.1581, "317",
          ("46202", "46204", "46220"),
          ("Massachusetts Avenue", "East Washington Street", "Broad Ripple Avenue"),
          ("Mass Ave", "Fountain Square", "Broad Ripple")),
    _City("Detroit", "MI", "America/Detroit", 42.3314, -83.0458, "313",
          ("48201", "48207", "48226"), ("Woodward Avenue", "Michigan Avenue", "Gratiot Avenue"),
          ("Midtown", "Corktown", "Eastern Market")),
    _City("Honolulu", "HI", "Pacific/Honolulu", 21.3069, -157.8583, "808",
          ("96813", "96814", "96815"), ("Kalakaua Avenue", "Kapahulu Avenue", "Ala Moana Boulevard"),
          ("Waikiki", "Kaimuki", "Kakaako")),
)

_BRANDS = (
    _Brand("Café Olé", ("Café au Lait", "Almond Croissant", "Quiche Lorraine", "Avocado Toast",
                        "Crème Brûlée", "Cold Brew"), 3),
    _Brand("Harbor & Vine", ("Lobster Roll", "Clam Chowder", "Fish & Chips", "Oysters (Half Dozen)",
                             "Grilled Salmon", "Crab Cakes"), 1),
    _Brand("Smokestack BBQ", ("Brisket Plate", "Pulled Pork Sandwich", "St. Louis Ribs", "Mac & Cheese",
                              "Cornbread", "Smoked Wings"), 3),
    _Brand("Lucky Noodle House", ("Dan Dan Noodles", "Pork Soup Dumplings", "Beef Chow Fun",
                                  "Scallion Pancake", "Mapo Tofu", "Jasmine Tea"), 2),
    _Brand("Crêpes du Monde", ("Nutella Crêpe", "Ham & Gruyère Galette", "Lemon Sugar Crêpe",
                               "Ratatouille Galette", "Café Crème"), 1),
    _Brand("La Peña Taquería", ("Al Pastor Tacos", "Carnitas Burrito", "Elote", "Chips & Guacamole",
                                "Horchata", "Jalapeño Poppers"), 3),
    _Brand("Blue Door Pizza Co.", ("Margherita Pizza", "Pepperoni Pizza", "Garlic Knots", "Caesar Salad",
                                   "Tiramisu", "Calzone"), 2),
    _Brand("Maple Street Diner", ("Pancake Stack", "Classic Cheeseburger", "Patty Melt",
                                  "Chocolate Milkshake", "Eggs Benedict", "Home Fries"), 1),
    _Brand("Sushi Kō", ("Salmon Nigiri", "Spicy Tuna Roll", "Dragon Roll", "Miso Soup", "Edamame",
                        "Tonkotsu Ramen"), 1),
    _Brand("Golden Gate Burgers", ("Double Smash Burger", "Truffle Fries", "Veggie Burger", "Onion Rings",
                                   "Vanilla Shake", "Crispy Chicken Sandwich"), 2),
    _Brand("Bánh Mì Saigon", ("Bánh Mì Thịt", "Phở Bò", "Gỏi Cuốn", "Cà Phê Sữa Đá",
                              "Bún Chả"), 1),
    _Brand("The Copper Kettle", ("Shepherd's Pie", "Reuben Sandwich", "Tomato Bisque", "Cobb Salad",
                                 "Apple Crumble", "Irish Coffee"), 1),
    _Brand("Brewhouse 42", ("House IPA Pint", "Pretzel & Beer Cheese", "Fish Tacos", "Pub Burger",
                            "Buffalo Wings", "Hazy Pale Ale"), 2),
    _Brand("Olive & Fig", ("Falafel Plate", "Chicken Shawarma", "Hummus & Pita", "Fattoush", "Baklava",
                           "Lamb Kofta"), 1),
)

_FIRST_NAMES = ("Maria", "James", "José", "Aisha", "Chen", "Zoë", "Liam", "Priya", "Darnell", "Sofia",
                "Renée", "Kenji", "Emily", "Marcus", "Noor", "Tomás")
_LAST_NAMES = ("Garcia", "Smith", "Nguyen", "Johnson", "Peña", "O'Brien", "Kowalski", "Patel", "Müller",
               "Williams", "Kim", "Okafor", "Rossi", "Brown", "Haddad", "Lefebvre")

# Simulated partner connections were made between 2019-01-01 and 2023-12-31 (UTC).
_CONNECTED_FROM = 1_546_300_800
_CONNECTED_SPAN = 1_704_067_199 - _CONNECTED_FROM


def simulated_restaurants(count: int, seed: int) -> tuple[Restaurant, ...]:
    """``count`` realistic US restaurant locations, identical for the same ``seed``.

    A brand opens one to ``locations`` locations; several form a management group whose
    locations share menu items (and so ``multiLocationId``). Each round over the brand list
    starts with a group so even a small world has one; larger worlds reuse brands as new,
    separate groups.
    """
    if count < 0:
        raise ValueError(f"count: expected a non-negative number of restaurants, got {count!r}")
    rng = random.Random(seed)
    world: list[Restaurant] = []
    while len(world) < count:
        order = rng.sample(_BRANDS, len(_BRANDS))
        first = next(brand for brand in order if brand.locations > 1)
        order.remove(first)
        for brand in (first, *order):
            if len(world) == count:
                break
            size = rng.randint(2 if brand is first else 1, brand.locations)
            world.extend(_open_brand(brand, rng, min(size, count - len(world))))
    return tuple(world)


def placeholder_restaurant(guid: str) -> Restaurant:
    """A single-location restaurant derived only from ``guid``: stands in for one the world lacks."""
    rng = random.Random(uuid.UUID(guid).int)
    (restaurant,) = _open_brand(rng.choice(_BRANDS), rng, 1)
    return replace(restaurant, guid=guid)


def _open_brand(brand: _Brand, rng: random.Random, count: int) -> list[Restaurant]:
    """``count`` locations of one brand in one city, sharing group identity and menu."""
    city = rng.choice(_CITIES)
    in_group = count > 1
    group_guid = new_guid(rng) if in_group or rng.random() < 0.5 else None
    group_ref = _slug(brand.name, "-") if group_guid and rng.random() < 0.7 else None
    menu = tuple((name, f"1000000001{rng.randrange(10**8):08d}") for name in brand.menu)
    neighborhoods = rng.sample(city.neighborhoods, count)
    return [
        Restaurant(
            guid=new_guid(rng),
            name=brand.name,
            location_name=neighborhood if in_group or rng.random() < 0.5 else None,
            management_group_guid=group_guid,
            external_group_ref=group_ref,
            external_restaurant_ref=f"{_slug(brand.name, '-')}-{number:02d}" if rng.random() < 0.7 else None,
            phone=_phone(city, rng),
            address_line1=f"{rng.randint(1, 2999)} {rng.choice(city.streets)}",
            address_line2=_address_line2(rng),
            city=city.name,
            state=city.state,
            zip_code=rng.choice(city.zip_codes),
            country_code="US",
            timezone=city.timezone,
            latitude=f"{city.latitude + rng.uniform(-0.03, 0.03):.6f}",
            longitude=f"{city.longitude + rng.uniform(-0.03, 0.03):.6f}",
            created_at=_CONNECTED_FROM + rng.randint(0, _CONNECTED_SPAN) + rng.randint(0, 999) / 1000,
            **_employee(brand, city, rng),
            items=tuple(MenuItem(new_guid(rng), name, multi_location_id) for name, multi_location_id in menu),
        )
        for number, neighborhood in enumerate(neighborhoods, start=1)
    ]


def _employee(brand: _Brand, city: _City, rng: random.Random) -> dict[str, str | None]:
    """The restaurant employee who connected the integration."""
    first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
    return {
        "created_by_first_name": first,
        "created_by_last_name": last,
        "created_by_email": f"{_slug(first, '')}.{_slug(last, '')}@{_slug(brand.name, '')}.com",
        "created_by_phone": _phone(city, rng) if rng.random() < 0.6 else None,
    }


def _address_line2(rng: random.Random) -> str | None:
    """Most restaurants have a street address only."""
    if rng.random() < 0.75:
        return None
    return rng.choice((f"Suite {rng.randint(1, 9)}00", "Unit B"))


def _phone(city: _City, rng: random.Random) -> str:
    """Ten digits like Toast's examples, in the 555-01xx range reserved for fiction."""
    return f"{city.area_code}5550{rng.randint(100, 199)}"


def _slug(text: str, separator: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", separator, ascii_text.replace("'", "")).strip("-")


@dataclass(frozen=True)
class Guest:
    """Who placed an online order, and where it goes: the personal data Toast's webhooks leave
    out and its orders API returns. Derived from a GUID, so every read agrees."""

    first_name: str
    last_name: str
    phone: str
    email: str
    address1: str
    city: str | None
    state: str | None
    zip_code: str | None
    latitude: float | None
    longitude: float | None


def simulated_guest(guid: str, restaurant: Restaurant) -> Guest:
    """The guest behind ``guid`` (a Customer's or an order's), living near ``restaurant``."""
    rng = random.Random(uuid.UUID(guid).int)
    city = next((c for c in _CITIES if c.name == restaurant.city), rng.choice(_CITIES))
    first, last = rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)
    return Guest(
        first_name=first, last_name=last, phone=_phone(city, rng),
        email=f"{_slug(first, '')}.{_slug(last, '')}@example.com",
        address1=f"{rng.randint(1, 2999)} {rng.choice(city.streets)}",
        city=city.name, state=city.state, zip_code=rng.choice(city.zip_codes),
        latitude=round(city.latitude + rng.uniform(-0.05, 0.05), 6),
        longitude=round(city.longitude + rng.uniform(-0.05, 0.05), 6))
