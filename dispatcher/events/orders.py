"""orders: ``order_updated`` (or ``channel_order_updated``) with the whole Order in every message.

Orders live through a lifecycle (opened, items added, sent to the kitchen, fulfilled, paid,
closed; sometimes voided before payment, sometimes reopened after closing), one message per
change, each with a later ``modifiedDate``. The state of the open orders is kept in the
:class:`~dispatcher.events.World` under ``"orders"`` (an :class:`OrderBook`), which the
guest_order_status category shares, so both streams describe the same orders.

An order is state (:class:`OrderState`, cents and milliseconds) rendered into Toast's Order JSON
(orders API v2.9.0 field set, keys in Toast's order) by :func:`render`; money is computed there,
so it always adds up: a check's ``amount`` is its non-voided selections' ``price`` plus service
charges minus check discounts, ``taxAmount`` those selections' ``tax`` plus service-charge taxes,
``totalAmount`` their sum, and a PAID or CLOSED check's payments sum to ``totalAmount`` (tips in
``tipAmount``). Modifier prices are part of their item's ``price`` and ``tax``. Guest personal data
is left out and ``externalId`` is null, as Toast's webhook does.
"""

from __future__ import annotations

import random
import re
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from dispatcher.events import (
    CategorySpec, Decisions, EventError, Restaurant, World, check_guid, check_integer, check_string, epoch_millis,
    iso_utc,
)

from .kitchen import (
    Discount, Item, Kitchen, Modifier, Ref, ServiceCharge, TaxRate, kitchen_of, percent_of, tax_of,
)
from .simulated_restaurants import new_guid

ORDER_UPDATED = "order_updated"
CHANNEL_ORDER_UPDATED = "channel_order_updated"
# Sources that are ordering channels: integrations that submit orders (spec decision: with
# dispatcher.channel_orders their orders are channel_order_updated).
CHANNEL_SOURCES = ("API", "Google", "Grubhub")
# (source, dining behaviour, weight): what a day of orders looks like.
_KINDS = (("In Store", "DINE_IN", 40), ("In Store", "TAKE_OUT", 12), ("Online", "TAKE_OUT", 12),
          ("Branded Online Ordering", "DELIVERY", 8), ("API", "DELIVERY", 10), ("Google", "TAKE_OUT", 4),
          ("Grubhub", "DELIVERY", 4), ("Toast Pickup App", "TAKE_OUT", 4), ("Kiosk", "TAKE_OUT", 4),
          ("Order-and-Pay-at-Table", "DINE_IN", 4))
LARGE_BYTES = 600 * 1024   # Toast: "Order payload sizes can reach over 600kbs"
_MAX_OPEN = 32             # open orders a book keeps; beyond, the oldest ones are finished
_MAX_UNSENT = 256          # messages one stream made for the other and not yet taken

# Guest order status after each change (guest_order_status; none for RECEIVED or plain edits).
GUEST_STATUS_AFTER = {"send": "IN_PREPARATION", "fulfill": "READY_FOR_PICKUP", "close": "CLOSED",
                      "void": "VOIDED", "reopen": "IN_PREPARATION"}


@dataclass
class Line:
    """A selection: an item, its modifiers, where it is in the kitchen."""

    guid: str
    item: Item
    quantity: int
    modifiers: list[tuple[str, Modifier]]      # (selection GUID, what was chosen)
    seat: int
    created: int
    modified: int
    fulfillment: str = "NEW"                   # NEW, SENT, READY
    voided: int | None = None                  # when it was voided


@dataclass
class Payment:
    guid: str
    kind: str                                  # CASH, CREDIT, ...
    amount: int
    tip: int
    paid: int
    last4: str | None
    card: str | None
    device: str


@dataclass
class CheckState:
    guid: str
    display: str
    created: int
    modified: int
    lines: list[Line] = field(default_factory=list)
    discounts: list[tuple[str, Discount]] = field(default_factory=list)   # (applied GUID, which)
    charges: list[tuple[str, ServiceCharge]] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    status: str = "OPEN"                       # OPEN, PAID, CLOSED
    paid: int | None = None
    closed: int | None = None
    voided: int | None = None


@dataclass
class OrderState:
    guid: str
    restaurant: Restaurant
    kitchen: Kitchen
    source: str
    behavior: str                              # DINE_IN, TAKE_OUT, DELIVERY
    guests: int
    server: Ref | None
    table: Ref | None
    device: str
    display: str
    created: int
    modified: int
    checks: list[CheckState]
    plan: list[str]                            # the changes still to come
    done: list[str] = field(default_factory=list)
    paid: int | None = None
    closed: int | None = None
    voided: int | None = None
    guest_status: str = "RECEIVED"
    catering: bool = False

    @property
    def is_channel(self) -> bool:
        return self.source in CHANNEL_SOURCES

    @property
    def has_guest(self) -> bool:
        """Placed by a guest online (not at the counter, not catering): guest_order_status follows it."""
        return self.source not in ("In Store", "Catering")


@dataclass
class OrderBook:
    """The open orders of one world and the messages one stream made for the other."""

    open: list[OrderState] = field(default_factory=list)
    unsent_orders: deque[tuple[OrderState, dict[str, Any]]] = field(
        default_factory=lambda: deque(maxlen=_MAX_UNSENT))
    unsent_statuses: deque[tuple[OrderState, str, int]] = field(
        default_factory=lambda: deque(maxlen=_MAX_UNSENT))
    numbers: dict[str, int] = field(default_factory=dict)     # the next display number per restaurant


def book_of(world: World) -> OrderBook:
    return world.state.setdefault("orders", OrderBook())


# -- dates -------------------------------------------------------------------------------------

def toast_date(millis: int | None) -> str | None:
    """Dates inside an order: ``2024-04-01T15:09:30.223+0000`` (the envelope uses ``Z``)."""
    return None if millis is None else iso_utc(millis)[:-1] + "+0000"


_NOT_DELETED = "1970-01-01T00:00:00.000+0000"


def business_date(millis: int, restaurant: Restaurant) -> int:
    """yyyyMMdd in the restaurant's time zone, the day starting at 4 am (a typical closeout)."""
    moment = datetime.fromtimestamp(millis / 1000, timezone.utc)
    try:
        from zoneinfo import ZoneInfo
        moment = moment.astimezone(ZoneInfo(restaurant.timezone))
    except (ImportError, KeyError, ValueError, OSError):   # no tz database: UTC
        pass
    day = (moment - timedelta(hours=4)).date()
    return day.year * 10000 + day.month * 100 + day.day


# -- the lifecycle -----------------------------------------------------------------------------

def _plan(rng: random.Random, walk_in: bool, catering: bool) -> list[str]:
    """The changes an order will go through after it is opened."""
    if catering:
        plan = ["send", "fulfill", "pay", "close"]
    elif walk_in:
        plan = ["add"] * rng.randint(1, 3) + ["send"]
        if rng.random() < 0.3:
            plan += ["add_sent"]                 # another round: a plain edit
        plan += ["fulfill", "pay", "close"]
    else:
        plan = ["send", "fulfill", "pay", "close"]
    if rng.random() < 0.06:                      # voided before anyone paid
        cut = rng.randint(0, plan.index("pay"))
        plan = plan[:cut] + ["void"]
    elif rng.random() < 0.05:                    # reopened to add something and paid again
        plan += ["reopen", "add_sent", "fulfill", "pay", "close"]
    return plan


def open_order(book: OrderBook, rng: random.Random, restaurant: Restaurant, now: int, *,
               channel: bool | None = None, large: bool = False, guest: bool = False) -> OrderState:
    kitchen = kitchen_of(restaurant)
    kinds = [k for k in _KINDS if (channel is None or (k[0] in CHANNEL_SOURCES) == channel)
             and (not guest or k[0] != "In Store")]
    source, behavior, _ = rng.choices(kinds, weights=[k[2] for k in kinds])[0]
    if large:
        source, behavior = "Catering", "DELIVERY"
    walk_in = source == "In Store" or behavior == "DINE_IN"   # opened empty, items added later
    guests = rng.randint(20, 200) if large else (rng.choice((1, 2, 2, 2, 3, 4, 4, 6, 8))
                                                  if behavior == "DINE_IN" else 1)
    number = book.numbers.get(restaurant.guid, rng.randint(1, 90)) + 1
    book.numbers[restaurant.guid] = number % 999
    split = behavior == "DINE_IN" and guests >= 4 and rng.random() < 0.2
    device = rng.choice(kitchen.devices)
    checks = [CheckState(new_guid(rng), str(number * 10 + index + 1 if split else number),
                         now, now) for index in range(2 if split else 1)]
    order = OrderState(
        guid=new_guid(rng), restaurant=restaurant, kitchen=kitchen, source=source, behavior=behavior,
        guests=guests, server=rng.choice(kitchen.servers) if walk_in else None,
        table=rng.choice(kitchen.tables) if behavior == "DINE_IN" else None, device=device,
        display=str(number), created=now, modified=now, checks=checks,
        plan=_plan(rng, walk_in, large), catering=large)
    if not walk_in or large:   # online and catering orders arrive with their items
        for check in checks:
            _add_lines(order, check, rng, now, count=_catering_lines(order) if large else rng.randint(1, 4))
        _apply_charges(order, rng)
    order.done.append("open")
    return order


def _catering_lines(order: OrderState) -> int:
    """Enough selections for a body over 600 KB (each renders to 3.6-3.9 KB with its modifiers)."""
    return 175 + order.guests // 20


def _add_lines(order: OrderState, check: CheckState, rng: random.Random, now: int, count: int,
               sent: bool = False) -> None:
    kitchen = order.kitchen
    for _ in range(count):
        item = rng.choice(kitchen.items) if rng.random() < 0.75 else rng.choice(kitchen.drinks)
        modifiers = []
        if item in kitchen.items and rng.random() < 0.4 or order.catering:
            modifiers = [(new_guid(rng), m) for m in rng.sample(kitchen.modifiers, rng.randint(1, 2))]
        quantity = rng.randint(1, 3) if order.catering else (1 if rng.random() < 0.85 else 2)
        seat = rng.randint(1, max(1, order.guests)) if order.behavior == "DINE_IN" else -1
        check.lines.append(Line(new_guid(rng), item, quantity, modifiers, seat, now, now,
                                fulfillment="SENT" if sent else "NEW"))


def _apply_charges(order: OrderState, rng: random.Random) -> None:
    """Service charges that fit the order, and now and then a discount."""
    for check in order.checks:
        for charge in order.kitchen.service_charges:
            fits = order.behavior in charge.dining and (
                (charge.gratuity and order.guests >= 6) or
                (charge.name == "Delivery Fee" and not order.catering) or
                (charge.name == "Catering Service Fee" and order.catering))
            if fits and not any(c is charge for _, c in check.charges):
                check.charges.append((new_guid(rng), charge))
        if not check.discounts and rng.random() < 0.12:
            check.discounts.append((new_guid(rng), rng.choice(order.kitchen.discounts)))


def apply_change(order: OrderState, change: str, rng: random.Random, now: int) -> None:
    """Carry out one change of the lifecycle at ``now`` (milliseconds)."""
    order.modified = now
    checks = [c for c in order.checks if c.voided is None]
    if change == "add":
        check = rng.choice(checks)
        _add_lines(order, check, rng, now, rng.randint(1, 3))
        if rng.random() < 0.05 and len(check.lines) > 1:   # a mistake, voided
            check.lines[0].voided = check.lines[0].modified = now
        _apply_charges(order, rng)
    elif change == "add_sent":
        check = rng.choice(checks)
        _add_lines(order, check, rng, now, 1, sent=True)
        check.modified = now
    elif change == "send":
        for line in _lines(checks):
            if line.fulfillment == "NEW":
                line.fulfillment, line.modified = "SENT", now
    elif change == "fulfill":
        for line in _lines(checks):
            if line.fulfillment != "READY":
                line.fulfillment, line.modified = "READY", now
    elif change == "pay":
        for check in checks:
            _pay(order, check, rng, now)
        order.paid = now
    elif change == "close":
        for check in checks:
            check.status, check.closed, check.modified = "CLOSED", now, now
        order.closed = now
    elif change == "reopen":
        for check in checks:
            check.status, check.closed, check.modified = "OPEN", None, now
        order.closed = None
    elif change == "void":
        order.voided = now
        for check in checks:
            check.voided, check.modified = now, now
            check.charges.clear()
            check.discounts.clear()
            for line in check.lines:
                if line.voided is None:
                    line.voided, line.modified = now, now
    else:
        raise ValueError(f"unknown order change {change!r}")
    for check in checks:
        if change in ("add", "send", "fulfill"):
            check.modified = now
    order.done.append(change)
    if change in GUEST_STATUS_AFTER:
        order.guest_status = GUEST_STATUS_AFTER[change]


def _lines(checks: Sequence[CheckState]) -> list[Line]:
    return [line for check in checks for line in check.lines if line.voided is None]


def _pay(order: OrderState, check: CheckState, rng: random.Random, now: int) -> None:
    """Payments for what is still owed; a check that was paid and reopened pays the rest."""
    owed = check_money(check, order.kitchen)["total"] - sum(p.amount for p in check.payments)
    if owed > 0:
        if order.source == "In Store" and rng.random() < 0.25:
            kind, card, last4 = "CASH", None, None
        else:
            kind, card = "CREDIT", rng.choice(("VISA", "VISA", "MASTERCARD", "AMEX", "DISCOVER"))
            last4 = f"{rng.randrange(10000):04d}"
        tip = percent_of(owed, rng.choice((0, 15, 18, 20, 22))) if order.behavior == "DINE_IN" else 0
        parts = 2 if kind == "CREDIT" and owed > 4000 and rng.random() < 0.15 else 1   # split tender
        first = owed // parts
        for index, amount in enumerate((first, owed - first)[:parts] if parts == 2 else (owed,)):
            check.payments.append(Payment(new_guid(rng), kind, amount, tip if index == 0 else 0, now,
                                          last4, card, order.device))
    check.status, check.paid, check.modified = "PAID", now, now


# -- money -------------------------------------------------------------------------------------

def line_money(line: Line, kitchen: Kitchen) -> tuple[int, list[tuple[TaxRate, int]]]:
    """(price, [(tax rate, tax)]) of a selection in cents: item plus modifiers, times quantity."""
    price = (line.item.price + sum(m.price for _, m in line.modifiers)) * line.quantity
    return price, [(rate, tax_of(price, rate)) for rate in kitchen.taxes]


def check_money(check: CheckState, kitchen: Kitchen) -> dict[str, Any]:
    """Every amount of a check in cents, computed one way for rendering and for paying."""
    lines = {line.guid: line_money(line, kitchen) for line in check.lines}
    subtotal = sum(lines[line.guid][0] for line in check.lines if line.voided is None)
    charges = []
    for guid, charge in check.charges:
        amount = charge.value if charge.kind == "FIXED" else percent_of(subtotal, charge.value)
        taxes = [(rate, tax_of(amount, rate)) for rate in kitchen.taxes] if charge.taxable else []
        charges.append((guid, charge, amount, taxes))
    discounts = []
    left = subtotal
    for guid, discount in check.discounts:
        amount = min(left, discount.value if discount.kind == "FIXED" else percent_of(subtotal, discount.value))
        discounts.append((guid, discount, amount))
        left -= amount
    amount = subtotal + sum(c[2] for c in charges) - sum(d[2] for d in discounts)
    tax = (sum(sum(t for _, t in lines[line.guid][1]) for line in check.lines if line.voided is None)
           + sum(sum(t for _, t in c[3]) for c in charges))
    return {"lines": lines, "charges": charges, "discounts": discounts, "amount": amount,
            "tax": tax, "total": amount + tax}


# -- rendering ---------------------------------------------------------------------------------

def _ref(ref: Ref | None) -> dict[str, Any] | None:
    return None if ref is None else {"guid": ref.guid, "entityType": ref.entity_type, "externalId": None}


def _config_ref(ref: Ref, multi_location_id: str | None = None) -> dict[str, Any]:
    return {"guid": ref.guid, "entityType": ref.entity_type, "externalId": None,
            "multiLocationId": multi_location_id}


def _money(cents: int) -> float:
    """Cents as Toast's JSON number (a double): 1234 -> 12.34, 0 -> 0.0."""
    return cents / 100


def _applied_taxes(taxes: list[tuple[TaxRate, int]], owner_guid: str) -> list[dict[str, Any]]:
    """The taxes applied to a selection or a service charge; their GUIDs derive from its GUID."""
    return [{"guid": _derived_guid(owner_guid, index + 1), "entityType": "AppliedTaxRate",
             "taxRate": {"guid": rate.ref.guid, "entityType": rate.ref.entity_type},   # a ToastReference
             "name": rate.name, "rate": float(rate.rate), "taxAmount": _money(amount), "type": "PERCENT",
             "facilitatorCollectAndRemitTax": False, "displayName": rate.name,
             "jurisdiction": rate.jurisdiction, "jurisdictionType": rate.jurisdiction_type}
            for index, (rate, amount) in enumerate(taxes)]


def _derived_guid(seed: str, index: int) -> str:
    """A stable GUID for a rendered sub-object (an applied tax) from its owner's GUID."""
    return new_guid(random.Random(f"{seed}/{index}"))


def render(order: OrderState) -> dict[str, Any]:
    """The order as Toast's Order JSON (keys in the order of Toast's webhook example)."""
    restaurant, kitchen = order.restaurant, order.kitchen
    dining = next(d for d in kitchen.dining_options if d.behavior == order.behavior)
    created_device = {"id": order.device}
    voided = order.voided is not None
    promised = order.created + 45 * 60_000 if order.catering else None
    return {
        "guid": order.guid, "entityType": "Order", "externalId": None,
        "revenueCenter": _ref(kitchen.revenue_centers[0 if order.behavior == "DINE_IN" else 1]),
        "server": _ref(order.server),
        "createdInTestMode": False,
        "lastModifiedDevice": created_device,
        "source": order.source,
        "voidDate": toast_date(order.voided),
        "duration": (order.paid - order.created) // 1000 if order.paid is not None else None,
        "businessDate": business_date(order.created, restaurant),
        "paidDate": toast_date(order.paid),
        "restaurantService": None,
        "excessFood": False,
        "voided": voided,
        "estimatedFulfillmentDate": toast_date(order.created + (45 if order.catering else 15) * 60_000),
        "table": _ref(order.table),
        "requiredPrepTime": "PT45M" if order.catering else "PT0S",
        "approvalStatus": "APPROVED",
        "deliveryInfo": _delivery(order),
        "serviceArea": _ref(kitchen.service_areas[0]) if order.table is not None else None,
        "curbsidePickupInfo": None,
        "numberOfGuests": order.guests,
        "diningOption": _ref(dining.ref),
        "appliedPackagingInfo": None,
        "openedDate": toast_date(promised if promised is not None else order.created),
        "voidBusinessDate": business_date(order.voided, restaurant) if voided else None,
        "checks": [_check(order, check, dining.ref) for check in order.checks],
        "deleted": False,
        "createdDevice": created_device,
        "createdDate": toast_date(order.created),
        "closedDate": toast_date(order.closed),
        "deletedDate": _NOT_DELETED,
        "modifiedDate": toast_date(order.modified),
        "promisedDate": toast_date(promised),
        "channelGuid": None,
        "pricingFeatures": ["TAXESV2"],
        "displayNumber": order.display,
        "marketplaceFacilitatorTaxInfo": None,
    }


def _delivery(order: OrderState) -> dict[str, Any] | None:
    """Delivery details without the guest's address (Toast leaves it out of webhooks)."""
    if order.behavior != "DELIVERY":
        return None
    state = "DELIVERED" if order.closed is not None else "PENDING"
    return {"address1": None, "address2": None, "city": None, "administrativeArea": None,
            "state": None, "zipCode": None, "country": None, "latitude": None, "longitude": None,
            "notes": None, "deliveredDate": toast_date(order.closed), "dispatchedDate": None,
            "deliveryEmployee": None, "deliveryState": state}


def _check(order: OrderState, check: CheckState, dining: Ref) -> dict[str, Any]:
    money = check_money(check, order.kitchen)
    device = {"id": order.device}
    restaurant = order.restaurant
    return {
        "guid": check.guid, "entityType": "Check", "externalId": None,
        "displayNumber": check.display,
        "payments": [_payment(order, check, p) for p in check.payments],
        "appliedDiscounts": [_discount(guid, discount, amount) for guid, discount, amount in money["discounts"]],
        "lastModifiedDevice": device,
        "voidDate": toast_date(check.voided),
        "paidDate": toast_date(check.paid),
        "appliedLoyaltyInfo": None,
        "voided": check.voided is not None,
        "paymentStatus": check.status,
        "amount": _money(money["amount"]),
        "tabName": None,
        "taxExempt": False,
        "openedDate": toast_date(check.created),
        "totalAmount": _money(money["total"]),
        "selections": [_selection(order, line, money["lines"][line.guid], dining) for line in check.lines],
        "voidBusinessDate": business_date(check.voided, restaurant) if check.voided is not None else None,
        "createdDate": toast_date(check.created),
        "deleted": False,
        "createdDevice": device,
        "closedDate": toast_date(check.closed),
        "deletedDate": _NOT_DELETED,
        "modifiedDate": toast_date(check.modified),
        "taxAmount": _money(money["tax"]),
        "appliedServiceCharges": [_charge(guid, charge, amount, taxes)
                                  for guid, charge, amount, taxes in money["charges"]],
        "customer": _customer(order, check),
        "duration": (check.paid - check.created) // 1000 if check.paid is not None else None,
        "openedBy": _ref(order.server),
    }


def _customer(order: OrderState, check: CheckState) -> dict[str, Any] | None:
    """Online orders have a guest; Toast leaves out who they are."""
    if order.source == "In Store":
        return None
    return {"guid": _derived_guid(check.guid, 0), "entityType": "Customer", "firstName": None,
            "lastName": None, "phone": None, "phoneCountryCode": None, "email": None}


def _selection(order: OrderState, line: Line, money: tuple[int, list], dining: Ref) -> dict[str, Any]:
    price, taxes = money
    voided = line.voided is not None
    item = line.item
    return {
        "guid": line.guid, "entityType": "MenuItemSelection", "externalId": None,
        "itemGroup": _config_ref(item.group), "deferred": False,
        "item": _config_ref(item.ref, item.multi_location_id),
        "quantity": float(line.quantity),
        "receiptLinePrice": _money(item.price),
        "preDiscountPrice": _money(price),
        "voidReason": _ref(order.kitchen.void_reason) if voided else None,
        "optionGroup": None,
        "displayName": item.name,
        "appliedDiscounts": [],
        "tax": _money(sum(t for _, t in taxes)),
        "modifiers": [_modifier(order, line, guid, modifier, dining) for guid, modifier in line.modifiers],
        "seatNumber": line.seat,
        "voidDate": toast_date(line.voided),
        "fulfillmentStatus": line.fulfillment,
        "fulfillment": None,
        "optionGroupPricingMode": None,
        "salesCategory": _ref(item.sales_category),
        "selectionType": "NONE",
        "unitOfMeasure": "NONE",
        "voidBusinessDate": business_date(line.voided, order.restaurant) if voided else None,
        "createdDate": toast_date(line.created),
        "preModifier": None,
        "price": _money(price),
        "modifiedDate": toast_date(line.modified),
        "voided": voided,
        "diningOption": _ref(dining),
        "appliedTaxes": _applied_taxes(taxes, line.guid),
        "taxInclusion": "NOT_INCLUDED",
        "openPriceAmount": None,
        "externalPriceAmount": None,
        "refundDetails": None,
        "splitOrigin": None,
        "plu": item.plu,
        "premodifierPlu": None,
    }


def _modifier(order: OrderState, line: Line, guid: str, modifier: Modifier, dining: Ref) -> dict[str, Any]:
    """A modifier selection; its price is counted in its item's price and tax."""
    voided = line.voided is not None
    return {
        "guid": guid, "entityType": "MenuItemSelection", "externalId": None,
        "itemGroup": None, "deferred": False, "item": _config_ref(modifier.ref),
        "quantity": float(line.quantity), "receiptLinePrice": _money(modifier.price),
        "preDiscountPrice": _money(modifier.price * line.quantity), "voidReason": None,
        "optionGroup": _config_ref(order.kitchen.option_group), "displayName": modifier.name,
        "appliedDiscounts": [], "tax": 0.0, "modifiers": [], "seatNumber": line.seat,
        "voidDate": toast_date(line.voided), "fulfillmentStatus": line.fulfillment, "fulfillment": None,
        "optionGroupPricingMode": "ADJUSTS_PRICE", "salesCategory": None, "selectionType": "NONE",
        "unitOfMeasure": "NONE",
        "voidBusinessDate": business_date(line.voided, order.restaurant) if voided else None,
        "createdDate": toast_date(line.created), "preModifier": None,
        "price": _money(modifier.price * line.quantity), "modifiedDate": toast_date(line.modified),
        "voided": voided, "diningOption": _ref(dining), "appliedTaxes": [],
        "taxInclusion": "NOT_INCLUDED", "openPriceAmount": None, "externalPriceAmount": None,
        "refundDetails": None, "splitOrigin": None, "plu": None, "premodifierPlu": None,
    }


def _discount(guid: str, discount: Discount, amount: int) -> dict[str, Any]:
    return {"guid": guid, "entityType": "AppliedDiscount", "externalId": None, "name": discount.name,
            "discountAmount": _money(amount), "nonTaxDiscountAmount": _money(amount),
            "discountPercent": float(discount.value) if discount.kind == "PERCENT" else None,
            "discount": {"guid": discount.ref.guid, "entityType": "Discount"},
            "triggers": [], "approver": None, "processingState": "APPLIED",
            "appliedDiscountReason": None, "loyaltyDetails": None, "comboItems": [],
            "appliedPromoCode": None, "discountType": discount.kind}


def _charge(guid: str, charge: ServiceCharge, amount: int, taxes: list[tuple[TaxRate, int]]) -> dict[str, Any]:
    return {"guid": guid, "entityType": "AppliedServiceCharge", "externalId": None,
            "chargeAmount": _money(amount), "serviceCharge": _ref(charge.ref),
            "chargeType": charge.kind, "name": charge.name,
            "delivery": "DELIVERY" in charge.dining, "takeout": "TAKE_OUT" in charge.dining,
            "dineIn": "DINE_IN" in charge.dining, "gratuity": charge.gratuity, "taxable": charge.taxable,
            "appliedTaxes": _applied_taxes(taxes, guid),
            "serviceChargeCalculation": "PRE_DISCOUNT", "refundDetails": None,
            "serviceChargeCategory": "SERVICE_CHARGE", "paymentGuid": None}


def _payment(order: OrderState, check: CheckState, payment: Payment) -> dict[str, Any]:
    card = payment.kind == "CREDIT"
    device = {"id": payment.device}
    return {
        "guid": payment.guid, "entityType": "OrderPayment", "externalId": None,
        "originalProcessingFee": _money(percent_of(payment.amount, "0.029") + 30) if card else None,
        "amount": _money(payment.amount), "tipAmount": _money(payment.tip),
        "amountTendered": _money(payment.amount + payment.tip) if not card else None,
        "cashDrawer": _ref(order.kitchen.cash_drawer) if not card else None,
        "cardType": payment.card, "lastModifiedDevice": device, "createdDevice": device,
        "refundStatus": "NONE", "houseAccount": None, "type": payment.kind, "voidInfo": None,
        "otherPayment": None, "paidDate": toast_date(payment.paid),
        "cardEntryMode": ("EMV_CHIP_SIGN" if order.source == "In Store" else "KEYED") if card else None,
        "paymentStatus": "CAPTURED",
        "paidBusinessDate": business_date(payment.paid, order.restaurant),
        "last4Digits": payment.last4, "first6Digits": None, "server": _ref(order.server),
        "refund": None, "mcaRepaymentAmount": None,
        "cardPaymentId": _derived_guid(payment.guid, 0) if card else None,
        "orderGuid": order.guid, "checkGuid": check.guid, "tenderTransactionGuid": None,
        "networkTransactionIdentifier": None,
    }


# -- the stream --------------------------------------------------------------------------------

def event_type_of(order: OrderState, world: World, wanted: str | None) -> str:
    if order.is_channel and (world.decisions.channel_orders or wanted == CHANNEL_ORDER_UPDATED):
        return CHANNEL_ORDER_UPDATED
    return ORDER_UPDATED


def _fits(order: OrderState, world: World, event_type: str | None, restaurant: Restaurant | None) -> bool:
    return ((restaurant is None or order.restaurant.guid == restaurant.guid)
            and (event_type is None or event_type_of(order, world, event_type) == event_type))


def step(world: World, rng: random.Random, at: float, restaurants: Sequence[Restaurant], *,
         event_type: str | None = None, restaurant: Restaurant | None = None, large: bool = False,
         guest_only: bool = False) -> tuple[OrderState, str]:
    """One change to one order (a new one, or one of the open ones): (order, change).

    A guest-status transition it causes is queued for the guest_order_status stream.
    """
    book = book_of(world)
    now = epoch_millis(at)
    channel = True if event_type == CHANNEL_ORDER_UPDATED else (
        False if event_type == ORDER_UPDATED and world.decisions.channel_orders else None)
    candidates = [o for o in book.open if _fits(o, world, event_type, restaurant)
                  and (not guest_only or o.has_guest)]
    # A new order when asked, when none fits, and now and then (more often while few are open).
    if large or not candidates or (len(candidates) < 3 and rng.random() < 0.5) or rng.random() < 0.25:
        order = open_order(book, rng, restaurant or rng.choice(restaurants), now,
                           channel=channel, large=large, guest=guest_only)
        book.open.append(order)
        if len(book.open) > _MAX_OPEN:
            book.open.pop(0)      # the oldest is forgotten (a stream nobody asked to finish)
        change = "open"
    else:
        order = rng.choice(candidates)
        change = order.plan.pop(0)
        apply_change(order, change, rng, max(now, order.modified + 1))
        if not order.plan:
            book.open.remove(order)
    if change in GUEST_STATUS_AFTER and order.has_guest:
        book.unsent_statuses.append((order, order.guest_status, order.modified))
    return order, change


def _advance(world: World, rng: random.Random, at: float, restaurants: Sequence[Restaurant],
             event_type: str | None, restaurant: Restaurant | None,
             large: bool = False) -> tuple[str, Restaurant, dict[str, Any]]:
    book = book_of(world)
    if not large:
        for index, (order, details) in enumerate(book.unsent_orders):
            if _fits(order, world, event_type, restaurant):
                del book.unsent_orders[index]
                return event_type_of(order, world, event_type), order.restaurant, details
    if world.ephemeral and not large:   # a lone event: somewhere along a lifecycle ending at ``at``
        gaps = [rng.randint(20, 300) for _ in range(rng.randint(0, 5))]
        order, _ = step(world, rng, at - sum(gaps), restaurants, event_type=event_type,
                        restaurant=restaurant)
        for gap in gaps[:len(order.plan)]:
            apply_change(order, order.plan.pop(0), rng, order.modified + gap * 1000)
    else:
        order, _ = step(world, rng, at, restaurants, event_type=event_type, restaurant=restaurant,
                        large=large)
    return event_type_of(order, world, event_type), order.restaurant, details_of(order)


def details_of(order: OrderState) -> dict[str, Any]:
    return {"restaurantGuid": order.restaurant.guid, "order": render(order)}


def _large(world: World, rng: random.Random, at: float, restaurants: Sequence[Restaurant],
           event_type: str | None, restaurant: Restaurant | None) -> tuple[str, Restaurant, dict[str, Any]]:
    """A new catering-size order, over 600 KB rendered; later events go on with it."""
    return _advance(world, rng, at, restaurants, event_type, restaurant, large=True)


# -- validation --------------------------------------------------------------------------------

_TOAST_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}\+0000")


def _validate(event_type: str, details: Mapping[str, Any]) -> None:
    check_guid(details, "restaurantGuid")
    order = details.get("order")
    if not isinstance(order, Mapping):
        raise EventError("details.order", f"expected the whole Order as a JSON object, got {order!r}")
    check_guid(order, "guid")
    if order.get("entityType") != "Order":
        raise EventError("details.order.entityType", f"expected 'Order', got {order.get('entityType')!r}")
    for key in ("modifiedDate", "createdDate", "openedDate"):
        check_string(order, key, nullable=True, pattern=_TOAST_DATE,
                     expected="a date like 2024-04-01T15:09:30.223+0000")
    check_integer(order, "businessDate", expected="a yyyyMMdd integer")
    checks = order.get("checks")
    if not isinstance(checks, list) or not checks or not all(isinstance(c, Mapping) for c in checks):
        raise EventError("details.order.checks", "expected a non-empty array of Check objects")


def _envelope_category(event_type: str, decisions: Decisions) -> str:
    """Toast's eventCategory and eventType are the same string for orders."""
    return event_type


def _build(event_type: str, restaurant: Restaurant, rng: random.Random, at: float,
           world: World) -> dict[str, Any]:
    """Orders continue one another: make_event calls ``advance``, never this."""
    raise NotImplementedError("orders events come from SPEC.advance")


SPEC = CategorySpec(name="orders", event_types=(ORDER_UPDATED, CHANNEL_ORDER_UPDATED),
                    restaurant_scoped=True, build=_build, validate=_validate,
                    envelope_category=_envelope_category, advance=_advance, large=_large,
                    demo_weight=6)
