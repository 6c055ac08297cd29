"""What an operator can do with the platform simulator. The API, CLI, pages and load tests all
call this one class, so each rule is written once."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import random
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import structlog

import signing
from dispatcher import events as catalogue
from dispatcher.events import availability
from dispatcher.backoff import BackoffRules, BackoffState, NotStopped, Transition, counts, restart
from dispatcher.clock import Clock
from dispatcher.disorder import Disorder
from dispatcher.transitions import Notify, TransitionHook, record_transition, tell
from dispatcher.errors import InvalidInput, UnknownResource, WrongState
from dispatcher.settings import DispatcherSettings
from storage import Database, NotFound
from storage.deliveries import (
    AttemptRecord,
    DeliveryPage,
    DeliveryQuery,
    DeliveryRecord,
    DeliveryStore,
    DispatchTransaction,
    EventRecord,
    NewDelivery,
)
from storage.subscriptions import SubscriptionRecord, SubscriptionStore, TransitionRecord

log = structlog.get_logger("hooksim.dispatcher")

MAX_EVENTS_PER_REQUEST = 1_000   # an order is ~9 KB and ~1 ms to make: one request stays small
# The catalogue names its inputs in Python; callers know them by the API's names.
_API_FIELDS = {"category": "eventCategory", "event_type": "eventType",
               "restaurant_guid": "restaurantGuid"}


def default_name(category: str) -> str:
    """The portal fills the name from the category: ``restaurant_availability`` -> ``Restaurant availability``."""
    return category.replace("_", " ").capitalize()


#: What a webhook URL and a notification address must match; docs/openapi.yaml publishes the
#: same patterns (WebhookUrl, Email), so the schema and the server agree on every value.
_PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
# No whitespace nor control characters, spelled out: regex engines disagree on what \s covers
# (Python's takes \x1c-\x1f and \x85, ECMAScript's takes \ufeff), and the schema's validator
# must read these patterns as the server does.
_TEXT = r"\s\u0000-\u001f\u007f-\u009f\ufeff"
_H = "[0-9A-Fa-f]{1,4}"
_IPV6 = "|".join([   # every form the standard library's urlsplit accepts in brackets (no zone)
    f"({_H}:){{7}}{_H}", f"({_H}:){{1,7}}:", f"({_H}:){{1,6}}:{_H}",
    f"({_H}:){{1,5}}(:{_H}){{1,2}}", f"({_H}:){{1,4}}(:{_H}){{1,3}}",
    f"({_H}:){{1,3}}(:{_H}){{1,4}}", f"({_H}:){{1,2}}(:{_H}){{1,5}}",
    f"{_H}:(:{_H}){{1,6}}", f":((:{_H}){{1,7}}|:)"])
URL_PATTERN = (r"^https?://([A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[(" + _IPV6 + r")\])"
               r"(:" + _PORT + r")?([/?][^#" + _TEXT + r"]{0,2000})?$")
EMAIL_PATTERN = (r"^[^@" + _TEXT + r"]{1,64}@([^@." + _TEXT + r"]|[^@." + _TEXT + r"][^@" + _TEXT
                 + r"]{0,187}[^@." + _TEXT + r"])$")


def check_url(url: Any, block_private_networks: bool) -> str:
    if not isinstance(url, str) or not url.strip():
        raise InvalidInput("url is required: the http(s) URL webhooks are sent to", "url")
    if not re.search(URL_PATTERN, url):
        raise InvalidInput(f"url must be an absolute http or https URL with a host name or "
                           f"address, got {url!r}", "url")
    try:
        parts = urlsplit(url)
    except ValueError:   # a bracketed host that is no IPv6 address
        raise InvalidInput(f"url has an invalid host: {url!r}", "url") from None
    if block_private_networks and _is_private_host(parts.hostname):
        raise InvalidInput(f"url points at a private or local address ({parts.hostname}), which "
                           "dispatcher.block_private_networks forbids", "url")
    return url.rstrip("\n")   # "$" lets one final newline through, in the schema's check too


async def check_resolved_host(url: str) -> None:
    """With ``block_private_networks``: a host *name* must resolve, and only to global
    addresses (literal addresses were judged by :func:`check_url`). Checked when a subscription
    is saved; a name re-pointed later (DNS rebinding) is not caught."""
    host = urlsplit(url).hostname or ""
    try:
        ipaddress.ip_address(host)
        return
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None)
    except OSError as exc:
        raise InvalidInput(f"url host {host!r} does not resolve ({exc}); "
                           "dispatcher.block_private_networks refuses what it cannot check",
                           "url") from None
    for *_, sockaddr in infos:
        if not ipaddress.ip_address(sockaddr[0].split("%")[0]).is_global:
            raise InvalidInput(f"url host {host!r} resolves to a private or local address "
                               f"({sockaddr[0]}), which dispatcher.block_private_networks "
                               "forbids", "url")


def _is_private_host(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global


def check_email(email: Any) -> str:
    if not isinstance(email, str):
        raise InvalidInput("notificationEmail is required", "notificationEmail")
    if not re.search(EMAIL_PATTERN, email):
        raise InvalidInput(f"notificationEmail is not an email address: {email!r}",
                           "notificationEmail")
    return email.rstrip("\n")


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise InvalidInput("name must be 1-200 characters of text", "name")
    return name.strip()


def check_category(category: Any) -> str:
    if category not in catalogue.categories():
        raise InvalidInput(f"eventCategory must be one of {', '.join(catalogue.categories())}, "
                           f"got {category!r}", "eventCategory")
    return category


@dataclass(frozen=True)
class BackoffView:
    status: str
    errors_in_window: int
    pauses_in_window: int
    paused_until: float | None
    history: list[TransitionRecord]


class DispatcherService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        settings: DispatcherSettings,
        rules: BackoffRules,
        *,
        wake: Callable[[], None] = lambda: None,
        notify: Notify | None = None,
        on_transition: TransitionHook | None = None,
        on_committed: Callable[[], None] = lambda: None,
        disorder: Disorder | None = None,
    ) -> None:
        self.subscriptions = SubscriptionStore(db)
        self.deliveries = DeliveryStore(db)
        self.clock = clock
        self.settings = settings
        self.rules = rules
        self._wake = wake
        self._notify = notify
        self._on_transition = on_transition
        self._on_committed = on_committed
        self.disorder = disorder   # None or inactive: one delivery per subscription, due at once
        self._rng = random.Random(settings.seed)
        # The seed reproduces what events say, not their GUIDs: a restarted process, or several
        # API and dispatcher processes on one database, would draw the same GUIDs from the same
        # seed, and an event GUID is the event table's key. So GUIDs come from a generator
        # seeded with 256 bits of os.urandom per process: unique without a system call per GUID
        # (SystemRandom's was half the cost); GUIDs name events, they are not secrets.
        self._unique = random.Random(os.urandom(32))
        self.restaurants = catalogue.simulated_restaurants(settings.restaurants, settings.seed)
        self.world = catalogue.World(catalogue.Decisions.of(settings))   # open orders, decisions

    # -- subscriptions ---------------------------------------------------------------------
    async def create_subscription(self, *, event_category: Any, url: Any, notification_email: Any,
                                  name: Any = None, secret: str | None = None) -> SubscriptionRecord:
        """A new ACTIVE subscription. ``secret`` is generated unless given (a load test signs with
        the secret the endpoint under test already knows)."""
        category = check_category(event_category)
        now = self.clock.now()
        record = SubscriptionRecord(
            guid=str(uuid.uuid4()),
            name=default_name(category) if name in (None, "") else check_name(name),
            event_category=category,
            url=await self._checked_url(url),
            notification_email=check_email(notification_email),
            secret=secret or signing.new_secret(),
            status="ACTIVE",
            error_times=(),
            pause_times=(),
            paused_until=None,
            created_at=now,
            modified_at=now,
        )
        return await self.subscriptions.add(record)

    async def _checked_url(self, url: Any) -> str:
        checked = check_url(url, self.settings.block_private_networks)
        if self.settings.block_private_networks:
            await check_resolved_host(checked)
        return checked

    async def get_subscription(self, guid: str) -> SubscriptionRecord:
        try:
            return await self.subscriptions.get(guid)
        except NotFound:
            raise UnknownResource(f"no subscription {guid}") from None

    async def list_subscriptions(self) -> list[SubscriptionRecord]:
        return await self.subscriptions.list()

    async def edit_subscription(self, guid: str, changes: Mapping[str, Any]) -> SubscriptionRecord:
        """``changes`` may hold ``url``, ``name``, ``notification_email``; nothing else is editable."""
        if "event_category" in changes:
            raise InvalidInput("eventCategory cannot be changed after a subscription is created; "
                               "create a new subscription instead", "eventCategory")
        checked: dict[str, str] = {}
        for field, value in changes.items():
            if field == "url":
                checked["url"] = await self._checked_url(value)
            elif field == "name":
                checked["name"] = check_name(value)
            elif field == "notification_email":
                checked["notification_email"] = check_email(value)
            else:
                raise InvalidInput(f"{field} is not editable (editable: url, name, "
                                   "notificationEmail)", field)
        try:
            return await self.subscriptions.edit(guid, checked, self.clock.now())
        except NotFound:
            raise UnknownResource(f"no subscription {guid}") from None

    async def delete_subscription(self, guid: str) -> None:
        try:
            await self.subscriptions.delete(guid)
        except NotFound:
            raise UnknownResource(f"no subscription {guid}") from None

    async def restart_subscription(self, guid: str) -> SubscriptionRecord:
        """A STOPPED subscription becomes ACTIVE with its history cleared; notifies the owner."""
        now = self.clock.now()

        def restart_in(tx: DispatchTransaction) -> tuple[SubscriptionRecord, list[Transition]]:
            try:
                record = tx.subscription(guid)
            except NotFound:
                raise UnknownResource(f"no subscription {guid}") from None
            try:
                state, transitions = restart(BackoffState.of(record), now)
            except NotStopped as exc:
                raise WrongState(str(exc)) from None
            tx.save_backoff(guid, state, now)
            for transition in transitions:
                record_transition(tx, record, transition, self._notify)
            return record, transitions

        record, transitions = await self.deliveries.batch(restart_in)
        await tell(self._on_transition, record, transitions)
        self._on_committed()
        return await self.get_subscription(guid)

    async def backoff(self, guid: str) -> BackoffView:
        record = await self.get_subscription(guid)
        state = BackoffState.of(record)
        errors, pauses = counts(state, self.rules, self.clock.now())
        history = await self.subscriptions.transitions(guid)
        return BackoffView(record.status, errors, pauses, record.paused_until, history)

    # -- events ----------------------------------------------------------------------------
    async def send_events(self, *, category: Any, event_type: str | None = None,
                          restaurant_guid: str | None = None,
                          details: Mapping[str, Any] | None = None,
                          count: int = 1,
                          times: Sequence[float] | None = None,
                          subscription_guid: str | None = None,
                          large: bool = False) -> list[catalogue.Event]:
        """Make ``count`` events and commit each with one delivery per subscription of its category.

        ``times`` (platform times) replaces ``count``: one event at each, due then, for a stream
        that makes several at once (its clock met their moments late, or it makes them ahead).
        ``large``: the category's largest realistic event (orders: a catering order over 600 KB).
        """
        category = check_category(category)
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_EVENTS_PER_REQUEST:
            raise InvalidInput(f"count must be an integer 1-{MAX_EVENTS_PER_REQUEST}", "count")
        now = self.clock.now()
        made = []
        moments = list(times) if times is not None else [now] * count
        for at in moments:
            try:
                event = catalogue.make_event(
                    category, at=at, rng=self._rng, restaurants=self.restaurants,
                    event_type=event_type, restaurant_guid=restaurant_guid, details=details,
                    guid=catalogue.new_guid(self._unique), world=self.world, large=large)
            except catalogue.EventError as exc:
                raise InvalidInput(str(exc), _API_FIELDS.get(exc.field, exc.field)) from None
            made.append(event)
        targets = await self.subscriptions.list(category)
        if subscription_guid is not None:
            targets = [sub for sub in targets if sub.guid == subscription_guid]
        batch = []
        for event, at in zip(made, moments):
            body = event.body()
            record = EventRecord(event.guid, category, event.event_type, event.restaurant_guid,
                                 event.timestamp, body, at)
            batch.append((record, [
                NewDelivery(catalogue.new_guid(self._unique), sub.guid, event.route_key,
                            signing.sign(sub.secret, body, event.timestamp), due)
                for sub in targets for due in self._due_times(event, sub, at)]))
        await self.deliveries.add_events(batch)
        if targets:
            self._wake()
        return made

    def _due_times(self, event: catalogue.Event, sub: SubscriptionRecord,
                   at: float) -> list[float | None]:
        """When ``event``'s deliveries to ``sub`` are due: once at ``at``, or as many times as
        the disorder on purpose plans (each copy in the event log)."""
        if self.disorder is None or not self.disorder.settings.active:
            return [None]
        copies = self.disorder.copies(at)
        for copy in copies:
            if copy.kind != "original":
                log.info("delivery.disorder", kind=copy.kind, event_guid=event.guid,
                         subscription_guid=sub.guid, due_in=round(copy.due_at - at, 3))
        return [copy.due_at for copy in copies]

    async def snooze(self, *, kind: Any, restaurant_guid: str | None = None) -> list[catalogue.Event]:
        """A channel snoozed now: toggle offline now, online when the snooze ends (due then)."""
        if restaurant_guid is not None and not catalogue.is_guid(restaurant_guid):
            raise InvalidInput(f"restaurantGuid must be a GUID, got {restaurant_guid!r}",
                               "restaurantGuid")
        # Like any event's: a GUID the simulated world lacks gets a stand-in restaurant of its own.
        restaurant = (next((r for r in self.restaurants if r.guid == restaurant_guid), None)
                      or catalogue.placeholder_restaurant(restaurant_guid)
                      if restaurant_guid else self._rng.choice(self.restaurants))
        try:
            plan = availability.snooze_plan(kind, restaurant, self.clock.now(), self.world.decisions)
        except catalogue.EventError as exc:
            raise InvalidInput(str(exc), exc.field) from None
        return [event for when, event_type, details in plan
                for event in await self.send_events(category=availability.TOGGLE_CATEGORY,
                                                    event_type=event_type, details=details,
                                                    restaurant_guid=restaurant.guid, times=[when])]

    # -- deliveries ------------------------------------------------------------------------
    async def list_deliveries(self, query: DeliveryQuery) -> DeliveryPage:
        await self.get_subscription(query.subscription_guid)
        return await self.deliveries.list(query)

    async def get_delivery(self, webhook_guid: str) -> tuple[DeliveryRecord, list[AttemptRecord]]:
        try:
            delivery = await self.deliveries.get(webhook_guid)
        except NotFound:
            raise UnknownResource(f"no delivery {webhook_guid}") from None
        return delivery, await self.deliveries.attempts(webhook_guid)

    async def replay(self, webhook_guid: str) -> DeliveryRecord:
        """Send the same event (same GUID, same body) again in a new attempt series."""
        try:
            delivery = await self.deliveries.replay(webhook_guid, self.clock.now())
        except NotFound:
            raise UnknownResource(f"no delivery {webhook_guid}") from None
        self._wake()
        return delivery
