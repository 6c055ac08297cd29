"""``hooksim check``: probe an endpoint against the platform's documented expectations.

Every check is one pass/fail line with its evidence. Requests are made like the platform makes
them (its headers via :func:`dispatcher.headers.request_headers`, signed with :mod:`signing`, no
redirects followed) through one ClientSession with an explicit timeout.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

import signing
from dispatcher import events as catalogue
from dispatcher.headers import request_headers
from dispatcher.http import SKIP_AUTO_HEADERS
from dispatcher.settings import DispatcherSettings

BURST = 50


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    evidence: str


@dataclass(frozen=True)
class Answer:
    what: str                 # which request, for the evidence: "stock/in_stock"
    status: int | None        # None: no answer (timeout, connection error)
    seconds: float
    error: str = ""
    location: str = ""

    def ok(self, within: float) -> bool:
        return self.status is not None and 200 <= self.status <= 299 and self.seconds <= within

    def __str__(self) -> str:
        got = f"{self.status}" if self.status is not None else f"no answer ({self.error})"
        where = f" to {self.location}" if self.location else ""
        return f"{self.what}: {got}{where} after {self.seconds * 1000:.0f} ms"


@dataclass(frozen=True)
class _Headers:
    """What request_headers reads from a delivery."""

    signature: str
    event_type: str
    category: str
    restaurant_guid: str | None
    body: bytes | None = None


@dataclass
class Prober:
    url: str
    secret: str
    session: aiohttp.ClientSession
    timeout: float
    rng: random.Random
    answers: list[Answer] = field(default_factory=list)
    settings: DispatcherSettings = DispatcherSettings()
    # Event GUID -> its Toast-Restaurant-External-ID (packaging's restaurant is only there).
    restaurants: dict[str, str | None] = field(default_factory=dict)

    def event(self, category: str, event_type: str | None = None,
              details: Mapping[str, Any] | None = None, *, large: bool = False) -> dict[str, Any]:
        made = catalogue.make_event(category, at=time.time(), rng=self.rng,
                                    restaurants=catalogue.simulated_restaurants(3, 0),
                                    event_type=event_type, details=details, large=large)
        self.restaurants[made.guid] = made.restaurant_guid
        return made.envelope()

    async def post(self, envelope: dict[str, Any], *, secret: str | None = None,
                   body: bytes | None = None) -> Answer:
        """POST ``envelope`` as the platform would (compact UTF-8 JSON, signed over those bytes)."""
        body = body if body is not None else json.dumps(
            envelope, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        probe = _Headers(signing.sign(secret or self.secret, body, envelope["timestamp"]),
                         envelope["eventType"], envelope["eventCategory"],
                         self.restaurants.get(envelope["guid"]))
        what = f"{envelope['eventCategory']}/{envelope['eventType']}"
        started = time.perf_counter()
        try:
            async with self.session.post(self.url, data=body, allow_redirects=False,
                                         headers=request_headers(probe, 1, self.settings)) as resp:   # type: ignore[arg-type]
                await resp.read()
                answer = Answer(what, resp.status, time.perf_counter() - started,
                                location=resp.headers.get("Location", ""))
        except TimeoutError:
            answer = Answer(what, None, time.perf_counter() - started, "timed out")
        except aiohttp.ClientError as exc:
            answer = Answer(what, None, time.perf_counter() - started, type(exc).__name__)
        self.answers.append(answer)
        return answer


def _all_ok(name: str, answers: list[Answer], within: float, summary: str) -> CheckResult:
    bad = [a for a in answers if not a.ok(within)]
    if bad:
        shown = "; ".join(str(a) for a in bad[:3]) + (f"; and {len(bad) - 3} more" if len(bad) > 3 else "")
        return CheckResult(name, False, f"{len(bad)}/{len(answers)} not 2xx within {within:g} s: {shown}")
    slowest = max(a.seconds for a in answers) * 1000
    return CheckResult(name, True, f"{summary} (slowest {slowest:.0f} ms)")


async def every_event_type(p: Prober) -> CheckResult:
    kinds = [(c, t) for c in catalogue.categories() for t in catalogue.event_types(c)]
    answers = await asyncio.gather(*(p.post(p.event(c, t)) for c, t in kinds))
    return _all_ok("every-event-type", list(answers), p.timeout,
                   f"{len(kinds)}/{len(kinds)} event types answered 2xx within {p.timeout:g} s")


async def duplicate_guid(p: Prober) -> CheckResult:
    envelope = p.event("menus")
    first = await p.post(envelope)
    again = await p.post(envelope)
    passed = first.ok(p.timeout) and again.ok(p.timeout)
    return CheckResult("duplicate-guid", passed, f"first {first}; same GUID again {again}")


async def bad_signature(p: Prober) -> CheckResult:
    answer = await p.post(p.event("stock"), secret=p.secret + "-wrong")
    passed = answer.status is not None and 400 <= answer.status <= 499
    return CheckResult("bad-signature", passed,
                       f"wrong signature {answer} (expected a 4xx refusal)")


async def unknown_field(p: Prober) -> CheckResult:
    envelope = p.event("menus")
    envelope["futureField"] = {"added": "later"}
    envelope["details"]["futureDetail"] = 1
    answer = await p.post(envelope)
    return CheckResult("unknown-field", answer.ok(p.timeout), f"extra fields {answer}")


async def unknown_enum(p: Prober) -> CheckResult:
    envelope = p.event("restaurant_availability")
    envelope["details"]["reasonKey"] = "SOME_FUTURE_REASON"
    answer = await p.post(envelope)
    return CheckResult("unknown-enum", answer.ok(p.timeout), f"reasonKey SOME_FUTURE_REASON {answer}")


async def non_ascii(p: Prober) -> CheckResult:
    envelope = p.event("partner", "partner_updated", details={"restaurantName": "Café Olé"})
    answer = await p.post(envelope)
    return CheckResult("non-ascii", answer.ok(p.timeout), f"restaurantName 'Café Olé' {answer}")


async def burst(p: Prober) -> CheckResult:
    answers = await asyncio.gather(*(p.post(p.event("stock")) for _ in range(BURST)))
    return _all_ok(f"burst-{BURST}", list(answers), p.timeout,
                   f"{BURST}/{BURST} concurrent events answered 2xx within {p.timeout:g} s")


async def large_order(p: Prober) -> CheckResult:
    """Toast: "Order payload sizes can reach over 600kbs"; the endpoint must take one in time."""
    envelope = p.event("orders", large=True)
    size = len(json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    answer = await p.post(envelope)
    return CheckResult("large-order", answer.ok(p.timeout), f"a {size // 1024} KB order {answer}")


def no_redirects(p: Prober) -> CheckResult:
    redirects = [a for a in p.answers if a.status is not None and 300 <= a.status <= 399]
    if redirects:
        return CheckResult("no-redirects", False,
                           f"{len(redirects)} 3xx answers (never followed): {redirects[0]}")
    return CheckResult("no-redirects", True, f"no 3xx in {len(p.answers)} answers")


CHECKS: tuple[Callable[[Prober], Awaitable[CheckResult]], ...] = (
    every_event_type, duplicate_guid, bad_signature, unknown_field, unknown_enum, non_ascii, burst,
    large_order)


async def run_checks(url: str, secret: str, *, timeout: float = 2.0, seed: int = 0,
                     on_result: Callable[[CheckResult], None] = lambda _r: None) -> list[CheckResult]:
    """Every check in order; ``no-redirects`` last, over every answer seen."""
    client_timeout = aiohttp.ClientTimeout(total=timeout, connect=timeout, sock_read=timeout)
    connector = aiohttp.TCPConnector(force_close=not DispatcherSettings().keep_alive)
    async with aiohttp.ClientSession(connector=connector, timeout=client_timeout,
                                     cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False,
                                     skip_auto_headers=SKIP_AUTO_HEADERS) as session:
        prober = Prober(url, secret, session, timeout, random.Random(seed))
        results = []
        for check in CHECKS:
            results.append(await check(prober))
            on_result(results[-1])
        results.append(no_redirects(prober))
        on_result(results[-1])
        return results
