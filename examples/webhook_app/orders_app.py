"""A small Toast orders webhook consumer, written the way hooksim recommends.

- It verifies Toast-Signature over the raw bytes received plus the envelope's ``timestamp``:
  base64(HMAC-SHA256(secret, body + timestamp)). Never over re-serialised JSON.
- It treats two webhooks with the same event GUID as the same event: a retry is acknowledged
  (2xx, or the platform keeps retrying) and not processed again.
- It keeps each order's newest version: an update older than one already seen (a retry that
  arrives after a newer update) is acknowledged and ignored.
- Optionally it relays each accepted webhook on, bytes and signature untouched.

Run it: ``ORDERS_SECRET=... python -m aiohttp.web -H 127.0.0.1 -P 8080 orders_app:cli_app``
(from this folder); it listens at POST /toast/orders.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web


@dataclass
class Orders:
    """What the app has processed: the newest version of each order, and what it has seen."""

    secret: str
    forward_to: str = ""
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)   # order GUID -> newest
    seen_events: set[str] = field(default_factory=set)
    processed: list[str] = field(default_factory=list)    # event GUIDs, in processing order
    failing: bool = False   # a switch for tests: answer 503 as if the database were down


ORDERS = web.AppKey("orders", Orders)


def signature_ok(secret: str, body: bytes, signature: str) -> bool:
    try:
        timestamp = json.loads(body)["timestamp"]
    except (ValueError, KeyError, TypeError):
        return False
    digest = hmac.new(secret.encode(), body + str(timestamp).encode(), hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest).decode(), signature)


async def receive(request: web.Request) -> web.Response:
    state = request.app[ORDERS]
    body = await request.read()
    if not signature_ok(state.secret, body, request.headers.get("Toast-Signature", "")):
        return web.json_response({"error": "invalid signature"}, status=401)
    if state.failing:
        return web.json_response({"error": "try again later"}, status=503)
    envelope = json.loads(body)
    if envelope["guid"] in state.seen_events:
        return web.json_response({"duplicate": True})
    state.seen_events.add(envelope["guid"])
    order = (envelope.get("details") or {}).get("order")
    if isinstance(order, dict):
        known = state.orders.get(order["guid"])
        # ISO dates with the same offset sort as text
        if known is None or known["modifiedDate"] <= order["modifiedDate"]:
            state.orders[order["guid"]] = order
    state.processed.append(envelope["guid"])
    if state.forward_to:
        await relay(state.forward_to, body, request.headers)
    return web.json_response({"ok": True})


async def relay(url: str, body: bytes, headers: Any) -> None:
    """Pass the webhook on exactly as received: re-encoding the body would break its signature."""
    keep = {name: headers[name] for name in headers if name.lower().startswith("toast-")}
    keep["Content-Type"] = headers.get("Content-Type", "application/json")
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=body, headers=keep) as response:
            await response.read()


def make_app(secret: str | None = None, forward_to: str = "") -> web.Application:
    app = web.Application()
    app[ORDERS] = Orders(secret or os.environ["ORDERS_SECRET"],
                         forward_to or os.environ.get("ORDERS_FORWARD_TO", ""))
    app.router.add_post("/toast/orders", receive)
    return app


def cli_app(argv: list[str]) -> web.Application:
    """For ``python -m aiohttp.web``: settings from the environment."""
    return make_app()
