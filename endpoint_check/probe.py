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
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp

import signing
from dispatcher import events as catalogue
from endpoint_check import signatures
from dispatcher.headers import request_headers
from dispatcher.http import SKIP_AUTO_HEADERS
from dispatcher.settings import DispatcherSettings

BURST = 50


class Unsigned:
    """``Prober.post``'s default signature: sign the bytes sent with the endpoint's secret."""


UNSIGNED = Unsigned()


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    evidence: str
    skipped: bool = False     # not run (it needs an option the user did not give); not a failure
    seconds: float = 0.0      # how long the check took, requests included (wall clock)


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
    keys: signatures.Keys
    answers: list[Answer] = field(default_factory=list)
    settings: DispatcherSettings = DispatcherSettings()
    # Event GUID -> its Toast-Restaurant-External-ID (packaging's restaurant is only there).
    restaurants: dict[str, str | None] = field(default_factory=dict)

    def event(self, category: str, event_type: str | None = None,
              details: Mapping[str, Any] | None = None, *, large: bool = False,
              at: float | None = None) -> dict[str, Any]:
        made = catalogue.make_event(category, at=time.time() if at is None else at, rng=self.rng,
                                    restaurants=catalogue.simulated_restaurants(3, 0),
                                    event_type=event_type, details=details, large=large)
        self.restaurants[made.guid] = made.restaurant_guid
        return made.envelope()

    async def post(self, envelope: dict[str, Any], *, body: bytes | None = None,
                   signature: str | None | Unsigned = UNSIGNED, attempt: int = 1) -> Answer:
        """POST ``envelope`` as the platform would (compact UTF-8 JSON, signed over those bytes).

        ``body`` replaces the bytes sent, ``signature`` the Toast-Signature (None: no header).
        """
        body = body if body is not None else signatures.compact(envelope)
        if isinstance(signature, Unsigned):
            signature = signing.sign(self.secret, body, envelope["timestamp"])
        probe = _Headers(signature or "", envelope["eventType"], envelope["eventCategory"],
                         self.restaurants.get(envelope["guid"]))
        headers = request_headers(probe, attempt, self.settings)   # type: ignore[arg-type]
        if signature is None:
            del headers["Toast-Signature"]
        what = f"{envelope['eventCategory']}/{envelope['eventType']}"
        started = time.perf_counter()
        try:
            async with self.session.post(self.url, data=body, allow_redirects=False,
                                         headers=headers) as resp:
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


def _refused(answer: Answer) -> bool:
    return answer.status is not None and 400 <= answer.status <= 499


def signature_check(case: signatures.Case) -> Callable[[Prober], Awaitable[CheckResult]]:
    """One named check: every forgery of ``case`` refused with a 4xx, its valid twin 2xx."""

    async def check(p: Prober) -> CheckResult:
        if case.needs_previous and p.keys.previous is None:
            return CheckResult(case.name, True, "not run: give --previous-secret", skipped=True)
        forged = p.event("stock")
        body = case.twin_body(forged)
        wrong = []
        for forgery in case.forge(p.keys, body, forged["timestamp"]):
            answer = await p.post(forged, body=forgery.body, signature=forgery.signature)
            wrong.append((forgery.what, answer))
        twin = p.event("stock")
        valid = await p.post(twin, body=case.twin_body(twin))
        accepted = [f"{what}: {answer}" for what, answer in wrong if not _refused(answer)]
        if accepted:
            evidence = "not refused with a 4xx: " + "; ".join(accepted)
        else:
            evidence = "refused: " + "; ".join(f"{what} {answer.status}" for what, answer in wrong)
        evidence += f"; valid twin {valid}"
        return CheckResult(case.name, not accepted and valid.ok(p.timeout), evidence)

    check.__name__ = case.name.replace("-", "_")
    return check


async def retried_duplicate(p: Prober) -> CheckResult:
    """Toast: the same GUID is the same event; a retry (attempt 2) must still get a 2xx."""
    envelope = p.event("menus")
    first = await p.post(envelope)
    again = await p.post(envelope, attempt=2)
    passed = first.ok(p.timeout) and again.ok(p.timeout)
    return CheckResult("retried-duplicate", passed,
                       f"first {first}; same GUID, Toast-Attempt-Number 2 {again}")


async def older_after_newer(p: Prober) -> CheckResult:
    """A retry minutes later arrives after a newer update of the same order: still a 2xx."""
    now = time.time()
    older = p.event("orders", at=now - 300)
    order = dict(older["details"]["order"], modifiedDate=_order_date(now),
                 numberOfGuests=older["details"]["order"]["numberOfGuests"] + 1)
    newer = p.event("orders", older["eventType"], at=now,
                    details={"restaurantGuid": older["details"]["restaurantGuid"], "order": order})
    first = await p.post(newer)
    late = await p.post(older)
    passed = first.ok(p.timeout) and late.ok(p.timeout)
    return CheckResult("older-after-newer", passed,
                       f"order {order['guid'][:8]}: newer update {first}; "
                       f"the update 5 min older, after it {late}")


def _order_date(at: float) -> str:
    """Dates inside an order: 2024-03-28T15:11:01.050+0000."""
    return catalogue.iso_utc(catalogue.epoch_millis(at)).replace("Z", "+0000")


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


async def no_redirects(p: Prober) -> CheckResult:
    redirects = [a for a in p.answers if a.status is not None and 300 <= a.status <= 399]
    if redirects:
        return CheckResult("no-redirects", False,
                           f"{len(redirects)} 3xx answers (never followed): {redirects[0]}")
    return CheckResult("no-redirects", True, f"no 3xx in {len(p.answers)} answers")


CHECKS: tuple[Callable[[Prober], Awaitable[CheckResult]], ...] = (
    every_event_type, *(signature_check(case) for case in signatures.CASES), retried_duplicate,
    older_after_newer, unknown_field, unknown_enum, non_ascii, burst, large_order)


async def run_checks(url: str, secret: str, *, previous_secret: str | None = None,
                     timeout: float = 2.0, seed: int = 0,
                     on_result: Callable[[CheckResult], None] = lambda _r: None) -> list[CheckResult]:
    """Every check in order; ``no-redirects`` last, over every answer seen."""
    client_timeout = aiohttp.ClientTimeout(total=timeout, connect=timeout, sock_read=timeout)
    connector = aiohttp.TCPConnector(force_close=not DispatcherSettings().keep_alive)
    async with aiohttp.ClientSession(connector=connector, timeout=client_timeout,
                                     cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False,
                                     skip_auto_headers=SKIP_AUTO_HEADERS) as session:
        rng = random.Random(seed)
        keys = signatures.Keys(secret, previous_secret, signatures.other_secret(rng))
        prober = Prober(url, secret, session, timeout, rng, keys)
        results = []
        for check in (*CHECKS, no_redirects):
            started = time.perf_counter()
            result = await check(prober)
            results.append(replace(result, seconds=time.perf_counter() - started))
            on_result(results[-1])
        return results
