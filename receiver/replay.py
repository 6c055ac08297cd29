"""``hooksim receiver replay``: stored messages sent again to a URL, in the order they arrived.

Byte-exact (the same body and headers, the original Toast-Signature) or re-signed with another
secret (same body, a new signature over it and its own timestamp), at the original spacing,
compressed by a factor, or back to back. Messages come from the receiver's JSON-lines export
(``receiver export --format jsonl`` or ``GET /api/messages/export``). Planning is pure; only
:func:`replay` does I/O (one request at a time, so order holds).
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

import aiohttp
from multidict import CIMultiDict

import signing
from receiver.forwarding import NO_AUTO_HEADERS, forward_headers


class ReplayError(ValueError):
    """An export line that cannot be replayed (not JSON, no body, a body without timestamp)."""


@dataclass(frozen=True)
class Stored:
    id: int
    endpoint: str
    received_at: float        # epoch seconds
    method: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    @property
    def label(self) -> str:
        values = {name.lower(): value for name, value in self.headers}
        return (f"#{self.id} {values.get('toast-event-category', '-')}/"
                f"{values.get('toast-event-type', '-')}")


def parse_export(lines: Iterable[str]) -> list[Stored]:
    """Export lines (newest first, as exported) -> messages in arrival order."""
    found = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            found.append(Stored(
                int(row["id"]), str(row.get("endpoint", "")), _epoch(row["receivedAt"]),
                row.get("method", "POST"), tuple((str(n), str(v)) for n, v in row["headers"]),
                base64.b64decode(row["bodyBase64"], validate=True)))
        except (ValueError, KeyError, TypeError) as exc:
            raise ReplayError(f"line {number} is no exported message: {exc}") from None
    return sorted(found, key=lambda m: (m.received_at, m.id))


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def schedule(messages: list[Stored], speed: float) -> list[float]:
    """Seconds after the start at which each message goes: the original spacing divided by
    ``speed`` (1: as it arrived; 10: ten times faster; ``inf``: back to back)."""
    if not messages:
        return []
    first = messages[0].received_at
    return [0.0 if speed == float("inf") else (m.received_at - first) / speed for m in messages]


def headers_for(message: Stored, secret: str | None) -> CIMultiDict[str]:
    """The original headers (hop-by-hop aside); with ``secret``, a Toast-Signature made with it."""
    headers = forward_headers(message.headers)
    if secret is not None:
        try:
            timestamp = signing.timestamp_of(message.body)
        except signing.BodyError as exc:
            raise ReplayError(f"{message.label} cannot be re-signed: {exc}") from None
        headers.popall("Toast-Signature", None)
        headers["Toast-Signature"] = signing.sign(secret, message.body, timestamp)
    return headers


@dataclass(frozen=True)
class Replayed:
    message: Stored
    status: int | None
    seconds: float
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status <= 299

    def __str__(self) -> str:
        got = str(self.status) if self.status is not None else f"no answer ({self.error})"
        return f"{self.message.label}: {got} after {self.seconds * 1000:.0f} ms"


async def replay(messages: list[Stored], url: str, *, secret: str | None = None,
                 speed: float = 1.0, timeout: float = 10.0,
                 on_result: Callable[[Replayed], None] = lambda _r: None) -> list[Replayed]:
    """Send ``messages`` to ``url`` one after the other at :func:`schedule`'s moments."""
    plan = schedule(messages, speed)
    prepared = [headers_for(m, secret) for m in messages]   # refuse before sending anything
    results = []
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    async with aiohttp.ClientSession(timeout=client_timeout, auto_decompress=False,
                                     cookie_jar=aiohttp.DummyCookieJar()) as session:
        start = time.monotonic()
        for message, headers, due in zip(messages, prepared, plan):
            wait = start + due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            results.append(await _send(session, url, message, headers))
            on_result(results[-1])
    return results


async def _send(session: aiohttp.ClientSession, url: str, message: Stored,
                headers: CIMultiDict[str]) -> Replayed:
    started = time.perf_counter()
    try:
        async with session.request(message.method, url, data=message.body, headers=headers,
                                   allow_redirects=False, skip_auto_headers=NO_AUTO_HEADERS) as resp:
            await resp.read()
            return Replayed(message, resp.status, time.perf_counter() - started)
    except asyncio.TimeoutError:
        return Replayed(message, None, time.perf_counter() - started, "timed out")
    except (aiohttp.ClientError, OSError) as exc:
        return Replayed(message, None, time.perf_counter() - started, type(exc).__name__)
