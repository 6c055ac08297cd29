"""What a simulated restaurant sells and how it charges: its orders menu.

Everything is derived from the restaurant (its GUID and its menu items), so the same item has
the same GUID and price in every order, every run, and shared items (one ``multiLocationId``)
cost the same at every location of a group. Money is in integer cents; the orders module turns
it into Toast's JSON numbers only when it renders an order.
"""

from __future__ import annotations

import functools
import random
import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from .simulated_restaurants import Restaurant, new_guid


@dataclass(frozen=True)
class Ref:
    """A Toast reference: ``{guid, entityType, externalId}`` (externalId is null in webhooks)."""

    guid: str
    entity_type: str


@dataclass(frozen=True)
class Item:
    ref: Ref
    name: str
    price: int                  # cents
    group: Ref                  # its MenuGroup
    sales_category: Ref
    multi_location_id: str
    plu: str


@dataclass(frozen=True)
class Modifier:
    ref: Ref
    name: str
    price: int                  # cents, added to the item it modifies


@dataclass(frozen=True)
class TaxRate:
    ref: Ref
    name: str
    rate: str                   # a decimal fraction as text ("0.0625"), exact
    jurisdiction: str
    jurisdiction_type: str


@dataclass(frozen=True)
class Discount:
    ref: Ref
    name: str
    kind: str                   # PERCENT or FIXED
    value: int                  # percent, or cents


@dataclass(frozen=True)
class ServiceCharge:
    ref: Ref
    name: str
    kind: str                   # PERCENT or FIXED
    value: int                  # percent, or cents
    dining: frozenset[str]      # the dining behaviours it applies to
    gratuity: bool
    taxable: bool


@dataclass(frozen=True)
class DiningOption:
    ref: Ref
    name: str
    behavior: str               # DINE_IN, TAKE_OUT, DELIVERY


@dataclass(frozen=True)
class Kitchen:
    """One restaurant's orders configuration."""

    items: tuple[Item, ...]
    drinks: tuple[Item, ...]
    option_group: Ref
    modifiers: tuple[Modifier, ...]
    taxes: tuple[TaxRate, ...]
    discounts: tuple[Discount, ...]
    service_charges: tuple[ServiceCharge, ...]
    dining_options: tuple[DiningOption, ...]
    revenue_centers: tuple[Ref, ...]
    servers: tuple[Ref, ...]
    tables: tuple[Ref, ...]
    service_areas: tuple[Ref, ...]
    devices: tuple[str, ...]
    cash_drawer: Ref
    void_reason: Ref


# (state tax, local tax) by state, as fractions: realistic meal-tax rates.
_TAXES = {
    "MA": ("0.0625", "0.0075"), "NY": ("0.04", "0.045"), "IL": ("0.0625", "0.0425"),
    "TX": ("0.0625", "0.02"), "CO": ("0.029", "0.0481"), "AZ": ("0.056", "0.03"),
    "WA": ("0.065", "0.0385"), "CA": ("0.0725", "0.0138"), "OR": ("0", "0"),
    "TN": ("0.07", "0.0225"), "FL": ("0.06", "0.01"), "LA": ("0.0445", "0.05"),
    "IN": ("0.07", "0.02"), "MI": ("0.06", "0"), "HI": ("0.04", "0.005"),
}
_DRINKS = ("Fountain Soda", "Iced Tea", "Sparkling Water", "Lemonade")
_MODIFIERS = (("Extra Cheese", 150), ("Add Avocado", 200), ("Gluten-Free", 250), ("No Onions", 0),
              ("Make It Spicy", 0), ("Side Salad", 350), ("Extra Sauce", 75))
_CENTS = (0, 25, 49, 50, 75, 95, 99)


def kitchen_of(restaurant: Restaurant) -> Kitchen:
    """The restaurant's configuration, the same on every call (cached per restaurant)."""
    return _kitchen(restaurant.guid, restaurant.state or "", tuple(
        (item.guid, item.name, item.multi_location_id) for item in restaurant.items))


@functools.lru_cache(maxsize=1024)
def _kitchen(guid: str, state: str, items: tuple[tuple[str, str, str], ...]) -> Kitchen:
    rng = random.Random(uuid.UUID(guid).int ^ 0x6B69746368656E)   # "kitchen"

    def ref(entity_type: str) -> Ref:
        return Ref(new_guid(rng), entity_type)

    food, drinks_group = ref("MenuGroup"), ref("MenuGroup")
    food_sales, drink_sales = ref("SalesCategory"), ref("SalesCategory")
    made = tuple(Item(Ref(item_guid, "MenuItem"), name, _price(multi_location_id, 600, 2400), food,
                      food_sales, multi_location_id, f"{index + 101}")
                 for index, (item_guid, name, multi_location_id) in enumerate(items))
    drinks = tuple(Item(ref("MenuItem"), name, _price(name, 250, 450), drinks_group, drink_sales,
                        f"2000000001{rng.randrange(10**8):08d}", f"{index + 901}")
                   for index, name in enumerate(_DRINKS))
    state_rate, local_rate = _TAXES.get(state, ("0.0625", "0.01"))
    taxes = tuple(TaxRate(ref("TaxRate"), name, rate, where, kind) for name, rate, where, kind in (
        ("State Tax", state_rate, state or "US", "STATE"), ("Local Tax", local_rate, "City", "CITY"))
        if Decimal(rate))
    return Kitchen(
        items=made or drinks, drinks=drinks,
        option_group=ref("MenuOptionGroup"),
        modifiers=tuple(Modifier(ref("MenuItem"), name, price)
                        for name, price in rng.sample(_MODIFIERS, 5)),
        taxes=taxes,
        discounts=(Discount(ref("Discount"), "10% Off", "PERCENT", 10),
                   Discount(ref("Discount"), "$5 Off", "FIXED", 500),
                   Discount(ref("Discount"), "Employee Meal 50%", "PERCENT", 50)),
        service_charges=(
            ServiceCharge(ref("ServiceCharge"), "Delivery Fee", "FIXED", 399,
                          frozenset({"DELIVERY"}), gratuity=False, taxable=True),
            ServiceCharge(ref("ServiceCharge"), "Large Party Gratuity", "PERCENT", 18,
                          frozenset({"DINE_IN"}), gratuity=True, taxable=False),
            ServiceCharge(ref("ServiceCharge"), "Catering Service Fee", "PERCENT", 10,
                          frozenset({"DELIVERY", "TAKE_OUT"}), gratuity=False, taxable=True)),
        dining_options=(DiningOption(ref("DiningOption"), "Dine In", "DINE_IN"),
                        DiningOption(ref("DiningOption"), "Take Out", "TAKE_OUT"),
                        DiningOption(ref("DiningOption"), "Delivery", "DELIVERY")),
        revenue_centers=(ref("RevenueCenter"), ref("RevenueCenter")),
        servers=tuple(ref("RestaurantUser") for _ in range(4)),
        tables=tuple(ref("Table") for _ in range(12)),
        service_areas=(ref("ServiceArea"), ref("ServiceArea")),
        devices=tuple(f"{rng.getrandbits(64):016x}" for _ in range(3)),
        cash_drawer=ref("CashDrawer"),
        void_reason=ref("VoidReason"),
    )


def _price(key: str, low: int, high: int) -> int:
    """A menu price in cents from ``key``: the same item costs the same at every location."""
    rng = random.Random(key)
    return rng.randrange(low // 100, high // 100 + 1) * 100 + rng.choice(_CENTS)


def percent_of(cents: int, percent: int | str | Decimal) -> int:
    """``percent``% (or a fraction given as text) of ``cents``, rounded half up to the cent."""
    share = Decimal(cents) * (Decimal(percent) / 100 if isinstance(percent, int) else Decimal(percent))
    return int(share.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def tax_of(cents: int, rate: TaxRate) -> int:
    return percent_of(cents, rate.rate)
