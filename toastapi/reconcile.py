"""``hooksim check --reconcile URL``: did an integration converge to the platform's truth?

The integration exposes the state it holds at ``URL`` as one JSON document (the *state
document*, docs/fallback-apis.md); every section is optional and only the sections it reports
are compared:

    {"restaurants":  {"<restaurantGuid>": true},                    # connected (partners)
     "orders":       {"<orderGuid>": {"restaurantGuid": "...", "modifiedDate": "..."}},
     "availability": {"<restaurantGuid>": "ONLINE" | "OFFLINE"},
     "menus":        {"<restaurantGuid>": "<lastUpdated>"},
     "stock":        {"<restaurantGuid>": {"<itemGuid>": {"status": "...", "quantity": null}}},
     "schedules":    {"<restaurantGuid>": <orderingSchedule>}}

The truth is read the way an integration polls: through the fallback APIs at Toast's paths,
logged in with the API client's credentials. Stock lists only items out of stock or with a
quantity, as Toast's inventory API does; schedule times compare as "HH:MM" text.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from toastapi.access import LOGIN_PATH, MACHINE_CLIENT, RESTAURANT_HEADER
from toastapi.restaurants import text_times

SECTIONS = ("restaurants", "orders", "availability", "menus", "stock", "schedules")
# Every order ever modified: ordersBulk needs a window; Toast's earliest date to far ahead.
_ALL_TIME = {"startDate": "2015-12-02T00:00:00.000+0000", "endDate": "2200-01-01T00:00:00.000+0000"}


class ReconcileError(Exception):
    """The integration's state URL or the platform's API could not be read."""


@dataclass(frozen=True)
class Finding:
    section: str
    key: str          # a restaurant GUID, an order GUID, restaurant/item
    kind: str         # missed (the truth has it, the integration not) | stale | unexpected
    truth: Any
    held: Any

    def line(self) -> str:
        return f"{self.section} {self.key}: {self.kind} (API: {_short(self.truth)}; " \
               f"integration: {_short(self.held)})"


@dataclass
class Reconciliation:
    compared: dict[str, int] = field(default_factory=dict)   # section -> items compared
    findings: list[Finding] = field(default_factory=list)

    @property
    def converged(self) -> bool:
        return not self.findings

    def to_json(self) -> dict[str, Any]:
        return {"converged": self.converged, "compared": self.compared,
                "findings": [{"section": f.section, "key": f.key, "kind": f.kind,
                              "truth": f.truth, "held": f.held} for f in self.findings]}


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


class ToastReader:
    """The platform's truth through its fallback APIs (one login, 429s waited out)."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.token = ""

    async def login(self, client_id: str, client_secret: str) -> None:
        body = await self._call("POST", LOGIN_PATH, json={
            "clientId": client_id, "clientSecret": client_secret, "userAccessType": MACHINE_CLIENT})
        self.token = body["token"]["accessToken"]

    async def get(self, path: str, restaurant: str | None = None,
                  params: Mapping[str, Any] | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"}
        if restaurant:
            headers[RESTAURANT_HEADER] = restaurant
        return await self._call("GET", path, headers=headers, params=params)

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        for _ in range(30):
            try:
                async with self.session.request(method, self.base_url + path, **kwargs) as response:
                    text = await response.text()
                    if response.status == 429:
                        await asyncio.sleep(float(response.headers.get("Retry-After", "1")))
                        continue
                    if response.status != 200:
                        raise ReconcileError(f"{method} {path}: HTTP {response.status} {text[:200]}")
                    return json.loads(text)
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
                raise ReconcileError(f"{method} {self.base_url}{path}: {exc}") from None
        raise ReconcileError(f"{method} {path}: still rate-limited after 30 tries")

    async def orders(self, restaurant: str) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        page = 1
        while True:
            batch = await self.get("/orders/v2/ordersBulk", restaurant,
                                   {**_ALL_TIME, "pageSize": 100, "page": page})
            for order in batch:
                found[order["guid"]] = {"restaurantGuid": restaurant,
                                        "modifiedDate": order["modifiedDate"]}
            if len(batch) < 100:
                return found
            page += 1


async def truth(reader: ToastReader, sections: set[str]) -> dict[str, Any]:
    """The platform's state, in the state document's shape, for ``sections``."""
    partners = await reader.get("/partners/v1/restaurants")
    connected = sorted(p["restaurantGuid"] for p in partners if not p["deleted"])
    state: dict[str, Any] = {"restaurants": dict.fromkeys(connected, True)}
    for section in sections - {"restaurants"}:
        state[section] = {}
    for guid in connected:
        if "orders" in sections:
            state["orders"].update(await reader.orders(guid))
        if "availability" in sections:
            state["availability"][guid] = (await reader.get(
                "/restaurant-availability/v1/availability", guid))["status"]
        if "menus" in sections:
            state["menus"][guid] = (await reader.get("/menus/v2/metadata", guid))["lastUpdated"]
        if "stock" in sections:
            state["stock"][guid] = {item["guid"]: {"status": item["status"],
                                                   "quantity": item["quantity"]}
                                    for item in await reader.get("/stock/v1/inventory", guid)}
        if "schedules" in sections:
            state["schedules"][guid] = (await reader.get(
                "/ordermgmt-config/v1/published/orderingSchedule", guid))["orderingSchedule"]
    return state


def compare(truth: Mapping[str, Any], held: Mapping[str, Any]) -> Reconciliation:
    """What the integration ``held`` missed of ``truth``, section by section."""
    result = Reconciliation()
    connected = set(truth.get("restaurants", {}))
    for section in SECTIONS:
        if section not in held:
            continue
        expected, got = truth.get(section, {}), dict(held[section] or {})
        # What a disconnected restaurant left behind is no longer readable: not compared.
        if section == "restaurants":
            got = {key: True for key, value in got.items() if value}
        elif section == "orders":
            got = {key: value for key, value in got.items()
                   if isinstance(value, Mapping) and value.get("restaurantGuid") in connected}
        else:
            got = {key: value for key, value in got.items() if key in connected}
        if section == "stock":   # one entry per restaurant/item
            expected = {f"{r}/{i}": v for r, items in expected.items() for i, v in items.items()}
            got = {f"{r}/{i}": v for r, items in got.items() for i, v in (items or {}).items()}
        if section == "schedules":
            got = {key: text_times(value) for key, value in got.items()}
        result.compared[section] = len(expected)
        for key in sorted(set(expected) | set(got)):
            kind = _difference(section, expected.get(key), got.get(key))
            if kind:
                result.findings.append(Finding(section, key, kind, _shown(expected.get(key)),
                                               _shown(got.get(key))))
    return result


def _shown(value: Any) -> Any:
    """What a finding reports: an order's modifiedDate, anything else as it is."""
    return value.get("modifiedDate") if isinstance(value, Mapping) and "modifiedDate" in value else value


def _difference(section: str, truth: Any, held: Any) -> str | None:
    if truth == held:
        return None
    if held is None:
        return "missed"
    if truth is None:
        return "unexpected"
    if section == "orders" and isinstance(held, Mapping) and isinstance(truth, Mapping):
        if held.get("modifiedDate") == truth.get("modifiedDate"):
            return None
        return "stale" if str(held.get("modifiedDate")) < str(truth.get("modifiedDate")) else "unexpected"
    return "stale"


async def reconcile(api_base: str, client_id: str, client_secret: str, state_url: str,
                    *, timeout: float = 30.0) -> Reconciliation:
    """Read the integration's state at ``state_url`` and compare it with the API's truth."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        try:
            async with session.get(state_url) as response:
                if response.status != 200:
                    raise ReconcileError(f"GET {state_url}: HTTP {response.status}")
                held = json.loads(await response.text())
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            raise ReconcileError(f"GET {state_url}: {exc}") from None
        if not isinstance(held, dict) or not set(held) & set(SECTIONS):
            raise ReconcileError(f"{state_url} did not answer a state document (a JSON object "
                                 f"with any of {', '.join(SECTIONS)})")
        reader = ToastReader(session, api_base)
        await reader.login(client_id, client_secret)
        return compare(await truth(reader, set(held) & set(SECTIONS)), held)
