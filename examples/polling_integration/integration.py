"""A small Toast integration: webhooks in, fallback APIs polled, state out.

- ``POST /webhook``: verifies Toast-Signature (HMAC-SHA256 of body + timestamp, base64), drops
  duplicates by event GUID, applies the event. Out-of-order safe: an order older than the one
  held is ignored.
- :meth:`Integration.poll_once`: what Toast tells integrators to poll (partners hourly with
  ``lastModified``, availability every 10 minutes, menus metadata every 30, the ordering schedule
  daily, ``ordersBulk`` over the window since the last successful poll). Run it on a timer
  (``--poll-seconds``); the test calls it directly.
- ``GET /state``: the state it holds, in hooksim's state document shape, for
  ``hooksim check --reconcile http://HOST:PORT/state``.

Only the standard library and aiohttp: copy it and change what it does with each event.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any

import aiohttp
from aiohttp import web

_OVERLAP_SECONDS = 300   # re-read a little before the last poll: a change may land late


def toast_time(at: float) -> str:
    """Epoch seconds as Toast's query time: 2024-03-28T15:11:01.050+0000."""
    moment = datetime.fromtimestamp(at, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


class Integration:
    def __init__(self, toast_url: str, client_id: str, client_secret: str,
                 secrets: Iterable[str], *, now: Callable[[], float] = time.time) -> None:
        self.toast_url = toast_url.rstrip("/")
        self.client_id, self.client_secret = client_id, client_secret
        self.secrets = list(secrets)
        self.now = now                     # the platform's time (time.time against real Toast)
        self.token: str | None = None
        self.failing = False               # answer webhooks 500 (to see the platform back off)
        self.seen: set[str] = set()        # event GUIDs already applied
        self.restaurants: dict[str, bool] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.autofire: dict[str, str] = {}
        self.toggle: dict[str, str] = {}
        self.menus: dict[str, str] = {}
        self.stock: dict[str, dict[str, dict[str, Any]]] = {}
        self.schedules: dict[str, Any] = {}
        self.last_poll: float | None = None
        self.partners_polled: float | None = None

    # -- webhooks ----------------------------------------------------------------------------
    async def webhook(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.failing:
            return web.Response(status=500, text="down for maintenance")
        if not self._signed(body, request.headers.get("Toast-Signature", "")):
            return web.Response(status=401, text="bad signature")
        envelope = json.loads(body)
        if envelope["guid"] not in self.seen:   # a retry or a replay: same GUID, same event
            self.seen.add(envelope["guid"])
            self.apply(envelope.get("eventCategory", ""), envelope["eventType"], envelope["details"],
                       request.headers.get("Toast-Restaurant-External-ID"))
        return web.Response(status=200)

    def _signed(self, body: bytes, signature: str) -> bool:
        timestamp = json.loads(body).get("timestamp", "")
        for secret in self.secrets:
            mac = hmac.new(secret.encode(), body + timestamp.encode(), hashlib.sha256).digest()
            if hmac.compare_digest(base64.b64encode(mac).decode(), signature.strip()):
                return True
        return False

    def apply(self, category: str, event_type: str, details: dict[str, Any],
              restaurant: str | None) -> None:
        guid = restaurant or details.get("restaurantGuid", "")
        if category in ("order_updated", "channel_order_updated"):
            self.keep_order(details["order"], details["restaurantGuid"])
        elif category == "partner":
            self.restaurants[details["restaurantGuid"]] = event_type != "partner_removed"
        elif category == "restaurant_availability":
            self.autofire[guid] = details["status"]
        elif category == "restaurant_availability_toggle":
            self.toggle[guid] = details["status"]
        elif category == "menus":
            self.menus[guid] = details["publishedDate"]
        elif category == "stock":
            items = self.stock.setdefault(guid, {})
            if details["status"] == "IN_STOCK":
                items.pop(details["itemGuid"], None)
            else:
                items[details["itemGuid"]] = {"status": details["status"],
                                              "quantity": details.get("quantity")}
        elif category == "ordering_schedule":
            self.schedules[guid] = details["orderingSchedule"]

    def keep_order(self, order: dict[str, Any], restaurant: str) -> None:
        held = self.orders.get(order["guid"])
        if held is None or held["modifiedDate"] <= order["modifiedDate"]:
            self.orders[order["guid"]] = {"restaurantGuid": restaurant,
                                          "modifiedDate": order["modifiedDate"]}

    # -- polling -----------------------------------------------------------------------------
    async def poll_once(self, session: aiohttp.ClientSession) -> None:
        """One round of every fallback poll (a real integration spaces them by Toast's
        frequencies; one round catches up with everything)."""
        started = self.now()
        params = {"lastModified": toast_time(self.partners_polled - _OVERLAP_SECONDS)} \
            if self.partners_polled is not None else None
        for partner in await self._get(session, "/partners/v1/restaurants", params=params):
            self.restaurants[partner["restaurantGuid"]] = not partner["deleted"]
        self.partners_polled = started
        since = (self.last_poll - _OVERLAP_SECONDS) if self.last_poll is not None else 1_449_014_400   # 2015-12-02: Toast's earliest
        for guid in [g for g, connected in self.restaurants.items() if connected]:
            status = await self._get(session, "/restaurant-availability/v1/availability", guid)
            # One combined status: put it where its reason says it comes from.
            toggled = str(status["reasonKey"]).startswith("TOGGLE")
            self.toggle[guid] = status["status"] if toggled else "ONLINE"
            self.autofire[guid] = "ONLINE" if toggled else status["status"]
            self.menus[guid] = (await self._get(session, "/menus/v2/metadata", guid))["lastUpdated"]
            self.stock[guid] = {item["guid"]: {"status": item["status"], "quantity": item["quantity"]}
                                for item in await self._get(session, "/stock/v1/inventory", guid)}
            self.schedules[guid] = (await self._get(
                session, "/ordermgmt-config/v1/published/orderingSchedule", guid))["orderingSchedule"]
            page = 1
            while True:   # every order modified since the last poll, 100 a page
                orders = await self._get(session, "/orders/v2/ordersBulk", guid, {
                    "startDate": toast_time(since), "endDate": toast_time(self.now() + 60),
                    "pageSize": 100, "page": page})
                for order in orders:
                    self.keep_order(order, guid)
                if len(orders) < 100:
                    break
                page += 1
        self.last_poll = started

    async def _get(self, session: aiohttp.ClientSession, path: str, restaurant: str | None = None,
                   params: dict[str, Any] | None = None) -> Any:
        for _ in range(20):
            if self.token is None:
                await self._login(session)
            headers = {"Authorization": f"Bearer {self.token}"}
            if restaurant:
                headers["Toast-Restaurant-External-ID"] = restaurant
            async with session.get(self.toast_url + path, headers=headers, params=params) as response:
                if response.status == 401:        # expired: log in again
                    self.token = None
                    continue
                if response.status == 429:        # rate-limited: wait as told
                    await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
                    continue
                response.raise_for_status()
                return await response.json()
        raise RuntimeError(f"GET {path}: gave up")

    async def _login(self, session: aiohttp.ClientSession) -> None:
        async with session.post(self.toast_url + "/authentication/v1/authentication/login", json={
                "clientId": self.client_id, "clientSecret": self.client_secret,
                "userAccessType": "TOAST_MACHINE_CLIENT"}) as response:
            response.raise_for_status()
            self.token = (await response.json())["token"]["accessToken"]

    # -- what it holds -----------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        connected = {guid for guid, on in self.restaurants.items() if on}
        combined = {guid: "ONLINE" if self.autofire.get(guid, "ONLINE") == "ONLINE"
                    and self.toggle.get(guid, "ONLINE") == "ONLINE" else "OFFLINE"
                    for guid in set(self.autofire) | set(self.toggle) | connected}
        return {"restaurants": dict.fromkeys(sorted(connected), True), "orders": self.orders,
                "availability": combined, "menus": self.menus, "stock": self.stock,
                "schedules": self.schedules}

    async def state_handler(self, request: web.Request) -> web.Response:
        return web.json_response(self.state())


def make_app(integration: Integration) -> web.Application:
    app = web.Application()
    app.router.add_post("/webhook", integration.webhook)
    app.router.add_get("/state", integration.state_handler)
    return app
