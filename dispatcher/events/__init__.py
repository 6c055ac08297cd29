"""The event catalogue: exact Toast webhook events (spec sections 1-2) for a simulated world.

Pure code: no I/O, no clock reads, and every random choice comes from the caller's
``random.Random``, so one seed reproduces a run byte for byte. Each category lives in its
own module that exports a :class:`CategorySpec`; the registry at the bottom of this file
is the only place that lists them. The CLI's choices, the portal's options, the retry
schedules and the API's enum all come from (or are tested against) this registry.

Categories whose events follow one another (an order's lifecycle) keep their state in a
:class:`World` the caller holds; without one, each event stands alone.
"""

from __future__ import annotations

import functools
import json
import math
import random
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Literal

import orjson

from web.times import iso_millis

from .simulated_restaurants import MenuItem, Restaurant, new_guid, placeholder_restaurant, simulated_restaurants

__all__ = [
    "CATEGORIES", "CategorySpec", "Decisions", "Event", "EventError", "MenuItem", "Restaurant", "World",
    "categories", "envelope_category", "event_types", "is_guid", "make_event", "placeholder_restaurant",
    "register", "retries", "simulated_restaurants", "unregister", "validate_details",
    # Building blocks for category modules.
    "check_enum", "check_float", "check_guid", "check_integer", "check_iso_utc", "check_string",
    "epoch_millis", "iso_utc", "merge_over", "new_guid",
]


class EventError(ValueError):
    """An invalid category, event type or detail; ``field`` names the offending input."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


@dataclass(frozen=True)
class Event:
    """One webhook event: what gets signed, sent, retried and replayed unchanged."""

    guid: str
    category: str  # the subscription category it is delivered to
    event_type: str
    timestamp: str  # the envelope's text, also the signing timestamp (spec section 4)
    restaurant_guid: str | None  # the Toast-Restaurant-External-ID header; None for partner
    details: dict[str, Any]
    # The envelope's eventCategory when it is not the subscription category (orders: order_updated).
    event_category: str | None = None

    def envelope(self) -> dict[str, Any]:
        """The JSON object Toast posts, keys in Toast's order."""
        return {
            "timestamp": self.timestamp,
            "eventCategory": self.event_category or self.category,
            "eventType": self.event_type,
            "guid": self.guid,
            "details": self.details,
        }

    def body(self) -> bytes:
        """The exact bytes that are signed and sent: compact JSON, non-ASCII kept as UTF-8.

        Those of ``json.dumps(separators=(",", ":"), ensure_ascii=False)``: orjson writes the same
        bytes for strings, integers, booleans, null, objects and arrays (4x faster), not for
        floats (1e-07 vs 1e-7), so details holding a float, or anything orjson refuses (huge
        integers, non-string keys, lone surrogates), go through json as before.
        """
        envelope = self.envelope()
        if not _has_float(self.details):
            try:
                return orjson.dumps(envelope)
            except orjson.JSONEncodeError:
                pass
        text = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        return text.encode("utf-8")

    @property
    def route_key(self) -> str:
        """Category and restaurant joined by a dot (spec section 7); partner uses its details."""
        return f"{self.category}.{self.restaurant_guid or self.details['restaurantGuid']}"


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(_has_float(item) for item in value)
    return False


@dataclass(frozen=True)
class Decisions:
    """What the catalogue does where Toast is silent or contradicts itself: each one a
    ``[dispatcher]`` setting of the same name (see config.toml)."""

    # channel_order_updated (same shape) for orders whose source is an ordering channel.
    channel_orders: bool = False
    # packaging's eventCategory: Toast's example says "packaging", its prose "partner".
    packaging_event_category: Literal["packaging", "partner"] = "packaging"
    # ordering_schedule times: [hour, minute] arrays (Toast's example) or "HH:MM" (its prose).
    schedule_time_format: Literal["array", "text"] = "array"
    # Toast documents no snooze-specific text: a snooze reports the toggle texts unless set.
    snooze_started_reason: str = "User disabled integration"
    snooze_ended_reason: str = "User enabled integration"

    @classmethod
    def of(cls, settings: Any) -> Decisions:
        """The decisions held by ``settings`` (DispatcherSettings: the same field names)."""
        return _decisions_of(settings)


@functools.lru_cache(maxsize=16)
def _decisions_of(settings: Any) -> Decisions:
    return Decisions(**{f.name: getattr(settings, f.name) for f in fields(Decisions)})


@dataclass
class World:
    """What a stream of events remembers between them: the decisions and, per category, its
    state (open orders, say). One per process; a seed and the same calls reproduce it."""

    decisions: Decisions = Decisions()
    state: dict[str, Any] = field(default_factory=dict)
    # A world for one lone event (make_event without a world): a stateful category starts its
    # event somewhere along the way rather than always at the beginning.
    ephemeral: bool = False


Details = dict[str, Any]
Builder = Callable[[str, Restaurant, random.Random, float, World], Details]
Validator = Callable[[str, Mapping[str, Any]], None]
Merger = Callable[[str, Restaurant, Mapping[str, Any], Mapping[str, Any]], Details]
# A stateful category chooses its own next event: (world, rng, at, restaurants, wanted type,
# wanted restaurant) -> (event type, restaurant, details).
Advancer = Callable[[World, random.Random, float, Sequence[Restaurant], "str | None", "Restaurant | None"],
                    "tuple[str, Restaurant, Details]"]


def merge_over(event_type: str, restaurant: Restaurant, generated: Mapping[str, Any],
               given: Mapping[str, Any]) -> Details:
    """The default merge: the caller's details replace generated ones key by key."""
    return {**generated, **given}


@dataclass(frozen=True)
class CategorySpec:
    """Everything the catalogue knows about one event category."""

    name: str
    event_types: tuple[str, ...]
    restaurant_scoped: bool  # False: no Toast-Restaurant-External-ID header (partner)
    build: Builder  # generated details for (event_type, restaurant, rng, at, world)
    validate: Validator  # raises EventError naming the first bad field
    # Combines generated and caller details; a category overrides it when a given field
    # makes a generated one contradictory (stock: a given status drops a generated quantity).
    merge: Merger = merge_over
    # Which retry schedule its deliveries follow (spec section 5): the standard 5 then 10
    # minutes (dispatcher.retry_delays), or availability's fast one.
    retries: Literal["standard", "availability"] = "standard"
    # The envelope's eventCategory for (event type, decisions); None: the category's name.
    envelope_category: Callable[[str, Decisions], str] | None = None
    # Set for categories whose events continue one another (orders); replaces build's draw.
    advance: Advancer | None = None
    # The "large" variant of advance (orders: a catering order over 600 KB); None: not offered.
    large: Advancer | None = None
    # How often demo traffic picks it, relative to the others (orders flow most).
    demo_weight: int = 1


_REGISTRY: dict[str, CategorySpec] = {}
CATEGORIES: Mapping[str, CategorySpec] = MappingProxyType(_REGISTRY)


def register(spec: CategorySpec) -> CategorySpec:
    """Add a category to the catalogue; names are unique."""
    if spec.name in _REGISTRY:
        raise ValueError(f"category {spec.name!r} is already registered")
    if not spec.event_types:
        raise ValueError(f"category {spec.name!r} needs at least one event type")
    _REGISTRY[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    """Remove a category (plugins and tests that register temporary ones)."""
    del _REGISTRY[name]


def categories() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def event_types(category: str) -> tuple[str, ...]:
    return _spec(category).event_types


def retries(category: str) -> str:
    """The retry schedule of ``category``'s deliveries; an unknown one gets the standard one."""
    spec = _REGISTRY.get(category)
    return spec.retries if spec is not None else "standard"


def envelope_category(category: str, event_type: str, settings: Any, body: bytes | None = None) -> str:
    """The eventCategory an event of subscription category ``category`` carries on the wire
    (and in the Toast-Event-Category header), given the decisions in ``settings``.

    With the event's ``body``, the one it was made with: a retry after a restart with another
    ``packaging_event_category`` still says what its body says.
    """
    spec = _REGISTRY.get(category)
    if spec is None or spec.envelope_category is None:
        return category
    if body is not None and (found := _BODY_CATEGORY.match(body)) is not None:
        return found.group(1).decode("utf-8")
    return spec.envelope_category(event_type, Decisions.of(settings))


# The start of every body Event.body makes: {"timestamp":"...","eventCategory":"...".
_BODY_CATEGORY = re.compile(rb'\{"timestamp":"[^"\\]*","eventCategory":"([^"\\]*)"')


def make_event(category: str, *, at: float, rng: random.Random, restaurants: Sequence[Restaurant],
               event_type: str | None = None, restaurant_guid: str | None = None,
               details: Mapping[str, Any] | None = None, guid: str | None = None,
               world: World | None = None, large: bool = False) -> Event:
    """A valid event of ``category`` happening at ``at`` (epoch seconds).

    The type and restaurant are drawn from ``rng`` unless given; the restaurant can also
    be chosen by ``details["restaurantGuid"]``, and a GUID missing from ``restaurants``
    gets a placeholder derived from it. ``details`` replace generated fields before the
    result is validated, so an impossible combination raises :class:`EventError`. ``guid``
    replaces the one drawn from ``rng`` (drawn either way: a seed gives the same events). Details
    that are all generated are valid by construction (tests/events checks every category's
    builder against its validator for many seeds) and are not validated again. ``world``
    carries the decisions and what earlier events left (an order goes on where its last event
    left it); without one, the event starts from nothing and the decisions are the defaults.
    ``large`` asks for the category's largest realistic event (orders: a catering order).
    """
    spec = _spec(category)
    given = _given(details)
    world = World(ephemeral=True) if world is None else world
    advance = spec.advance
    if large:
        if spec.large is None:
            offered = ", ".join(name for name, s in _REGISTRY.items() if s.large is not None)
            raise EventError("large", f"only {offered} offer large events, not {spec.name}")
        advance = spec.large
    timestamp = iso_utc(epoch_millis(_checked_at(at)))
    if event_type is not None:
        _check_event_type(spec, event_type)
    if advance is not None:
        wanted = None
        if restaurant_guid is not None or given.get("restaurantGuid") is not None:
            wanted = _pick_restaurant(restaurants, rng, restaurant_guid, given.get("restaurantGuid"))
        elif not restaurants:
            raise EventError("restaurants", "expected at least one restaurant when no GUID is given")
        event_type, restaurant, generated = advance(world, rng, at, restaurants, event_type, wanted)
        drawn = new_guid(rng)
    else:
        if event_type is None:
            event_type = rng.choice(spec.event_types)
        restaurant = _pick_restaurant(restaurants, rng, restaurant_guid, given.get("restaurantGuid"))
        drawn = new_guid(rng)
        generated = spec.build(event_type, restaurant, rng, at, world)
    merged = spec.merge(event_type, restaurant, generated, given)
    if given:
        validate_details(category, event_type, merged)
    wire = spec.envelope_category(event_type, world.decisions) if spec.envelope_category else None
    return Event(guid=drawn if guid is None else guid, category=spec.name,
                 event_type=event_type, timestamp=timestamp,
                 restaurant_guid=restaurant.guid if spec.restaurant_scoped else None, details=merged,
                 event_category=wire)


def validate_details(category: str, event_type: str, details: Mapping[str, Any]) -> None:
    """Check details against the category's rules, e.g. ones a receiver parsed from a body.

    ``category`` is the subscription category or the envelope's eventCategory (``order_updated``
    belongs to orders: event types name their category).
    """
    spec = _REGISTRY.get(category) if isinstance(category, str) else None
    if spec is None or event_type not in spec.event_types:
        spec = next((s for s in _REGISTRY.values()
                     if s.envelope_category is not None and event_type in s.event_types), None)
    spec = spec or _spec(category)
    _check_event_type(spec, event_type)
    try:
        json.dumps(details, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise EventError("details", f"expected JSON-serialisable values ({exc})") from None
    spec.validate(event_type, details)


def _spec(category: str) -> CategorySpec:
    try:
        return _REGISTRY[category]
    except (KeyError, TypeError):
        raise EventError("category", f"expected one of {', '.join(_REGISTRY)}, got {category!r}") from None


def _check_event_type(spec: CategorySpec, event_type: str) -> None:
    if event_type not in spec.event_types:
        types = ", ".join(spec.event_types)
        raise EventError("event_type", f"{spec.name} has types {types}, got {event_type!r}")


def _given(details: Mapping[str, Any] | None) -> Details:
    if details is None:
        return {}
    if not isinstance(details, Mapping) or not all(isinstance(key, str) for key in details):
        raise EventError("details", f"expected a mapping with string keys, got {details!r}")
    return dict(details)


_LATEST_AT = 253_402_300_799.999  # 9999-12-31T23:59:59.999Z, the last ISO-8601 instant


def _checked_at(at: float) -> float:
    if isinstance(at, bool) or not isinstance(at, (int, float)) or not 0 <= at <= _LATEST_AT:
        raise EventError("at", f"expected epoch seconds between 0 and {_LATEST_AT}, got {at!r}")
    return at


def _pick_restaurant(restaurants: Sequence[Restaurant], rng: random.Random,
                     restaurant_guid: str | None, detail_guid: Any) -> Restaurant:
    if restaurant_guid is not None and not is_guid(restaurant_guid):
        raise EventError("restaurant_guid", f"expected {_GUID_TEXT}, got {restaurant_guid!r}")
    if detail_guid is not None and not is_guid(detail_guid):
        raise EventError("details.restaurantGuid", f"expected {_GUID_TEXT}, got {detail_guid!r}")
    if restaurant_guid and detail_guid and restaurant_guid != detail_guid:
        raise EventError("details.restaurantGuid",
                         f"must equal restaurant_guid {restaurant_guid!r}, got {detail_guid!r}")
    wanted = restaurant_guid or detail_guid
    if wanted is None:
        if not restaurants:
            raise EventError("restaurants", "expected at least one restaurant when no GUID is given")
        return rng.choice(restaurants)
    return next((r for r in restaurants if r.guid == wanted), None) or placeholder_restaurant(wanted)


# Time: the envelope, publishedDate and partner dates all use whole milliseconds.

def epoch_millis(at: float) -> int:
    """Epoch seconds to whole milliseconds, rounded so 15:11:01.05 stays .050 despite float error."""
    return round(at * 1000)


#: ISO-8601 UTC with exactly three fraction digits and ``Z``: the one formatter (web.times).
iso_utc = iso_millis


# Validation helpers: each returns the value and raises EventError("details.<key>", ...).

_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_GUID_TEXT = "a lowercase UUID string like 3325cc58-dc6e-4e21-85f9-7de275ffe820"


def is_guid(value: Any) -> bool:
    return isinstance(value, str) and _GUID.fullmatch(value) is not None


def _required(details: Mapping[str, Any], key: str) -> Any:
    if key not in details:
        raise EventError(f"details.{key}", "required field is missing")
    return details[key]


def _invalid(key: str, expected: str, value: Any, nullable: bool) -> EventError:
    return EventError(f"details.{key}", f"expected {expected}{' or null' if nullable else ''}, got {value!r}")


def check_string(details: Mapping[str, Any], key: str, *, nullable: bool = False,
                 pattern: re.Pattern[str] | None = None, expected: str = "a JSON string") -> str | None:
    value = _required(details, key)
    if value is None and nullable:
        return None
    if not isinstance(value, str) or (pattern is not None and pattern.fullmatch(value) is None):
        raise _invalid(key, expected, value, nullable)
    return value


def check_guid(details: Mapping[str, Any], key: str, *, nullable: bool = False) -> str | None:
    return check_string(details, key, nullable=nullable, pattern=_GUID, expected=_GUID_TEXT)


def check_enum(details: Mapping[str, Any], key: str, allowed: Collection[str]) -> str:
    value = _required(details, key)
    if not isinstance(value, str) or value not in allowed:
        raise _invalid(key, f"one of {', '.join(allowed)}", value, False)
    return value


def check_integer(details: Mapping[str, Any], key: str, *, expected: str = "a JSON integer") -> int:
    value = _required(details, key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(key, expected, value, False)
    return value


def check_float(details: Mapping[str, Any], key: str) -> float:
    """A JSON number written with a fraction (5.0, not 5): Python floats serialise that way."""
    value = _required(details, key)
    if not isinstance(value, float) or not math.isfinite(value):
        raise _invalid(key, "a finite JSON number with a fraction (a float such as 5.0)", value, False)
    return value


def check_iso_utc(details: Mapping[str, Any], key: str) -> datetime:
    value = _required(details, key)
    expected = "an ISO-8601 UTC timestamp like 2024-03-28T15:11:01.050Z"
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise _invalid(key, expected, value, False) from None
    if moment.utcoffset() != timedelta(0):
        raise _invalid(key, expected, value, False)
    return moment


# The registry. A new category is one module exporting a CategorySpec plus one line here.
# Imported last because the category modules use the names defined above.
from . import availability, guest, menus, orders, packaging, partner, schedule, stock  # noqa: E402

for _category in (menus.SPEC, stock.SPEC, partner.SPEC, availability.AVAILABILITY, availability.TOGGLE,
                  orders.SPEC, guest.SPEC, packaging.SPEC, schedule.SPEC):
    register(_category)
