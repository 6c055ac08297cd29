"""check: passes against hooksim's own receiver, fails naming the check against broken endpoints."""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web

from dispatcher import events as catalogue
from endpoint_check.probe import CheckResult, run_checks
from tests.endpoints import SECRET, answering, run_cli, verifying

SIGNATURE_CASES = ["reserialised-json", "hex-digest", "body-only-hmac", "secret-whitespace",
                   "previous-secret", "other-secret", "empty-signature", "missing-signature",
                   "altered-body"]
NAMES = ["every-event-type", *SIGNATURE_CASES, "retried-duplicate", "older-after-newer",
         "unknown-field", "unknown-enum", "non-ascii", "burst-50", "large-order", "no-redirects"]


def failed(results: list[CheckResult]) -> list[str]:
    return [r.name for r in results if not r.passed]


def by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.name: r for r in results}


async def test_our_receiver_passes_every_check(receiver_url: str) -> None:
    results = await run_checks(receiver_url, SECRET, previous_secret="the-secret-before-rotation")
    assert [r.name for r in results] == NAMES
    assert failed(results) == [], [str(r) for r in results]
    assert not any(r.skipped for r in results)
    kinds = sum(len(catalogue.event_types(c)) for c in catalogue.categories())
    assert f"{kinds}/{kinds} event types" in results[0].evidence


async def test_a_redirecting_endpoint_fails_no_redirects(endpoint) -> None:
    async def redirect(request: web.Request) -> web.Response:
        await request.read()
        raise web.HTTPFound("/elsewhere")

    results = await run_checks(await endpoint(redirect), SECRET, timeout=0.5)
    assert "no-redirects" in failed(results)
    assert "302 to /elsewhere" in results[-1].evidence
    assert "every-event-type" in failed(results)


async def test_an_endpoint_refusing_duplicates_fails_retried_duplicate(endpoint) -> None:
    seen: set[str] = set()
    valid = verifying()

    async def once(request: web.Request) -> web.Response:
        guid = json.loads(await request.read())["guid"]
        if guid in seen:
            return web.Response(status=409)
        seen.add(guid)
        return await valid(request)

    results = await run_checks(await endpoint(once), SECRET)
    assert failed(results) == ["retried-duplicate"]
    assert "Toast-Attempt-Number 2 menus/menus_updated: 409" in by_name(results)[
        "retried-duplicate"].evidence


async def test_a_hanging_endpoint_fails_on_time(endpoint, hanging) -> None:
    results = await run_checks(await endpoint(hanging), SECRET, timeout=0.2)
    assert "every-event-type" in failed(results) and "burst-50" in failed(results)
    assert "no answer (timed out)" in results[0].evidence


async def test_cli_exit_codes_and_report(receiver_url: str, endpoint, tmp_path: Path) -> None:
    report = tmp_path / "check.json"
    code, out, err = await run_cli("check", "--url", receiver_url, "--secret", SECRET,
                                   "--report", str(report))
    assert code == 0, out + err
    assert "17/17 checks passed, 1 skipped" in out
    assert "SKIP  previous-secret" in out
    assert json.loads(report.read_text())["passed"] is True

    code, out, _ = await run_cli("check", "--url", await endpoint(answering(200)), "--secret",
                                 SECRET)
    assert code == 1
    assert [line.split()[1] for line in out.splitlines() if line.startswith("FAIL")] == [
        name for name in SIGNATURE_CASES if name != "previous-secret"]


async def test_check_sends_the_platforms_headers_for_every_category(endpoint) -> None:
    seen: list[dict[str, str]] = []
    valid = verifying()

    async def record(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return await valid(request)

    results = await run_checks(await endpoint(record), SECRET)
    assert failed(results) == []
    types = {h["Toast-Event-Type"] for h in seen}
    assert {t for c in catalogue.categories() for t in catalogue.event_types(c)} <= types
    for headers in seen:
        scoped = not headers["Toast-Event-Type"].startswith("partner_")
        assert ("Toast-Restaurant-External-ID" in headers) == scoped, headers["Toast-Event-Type"]
        assert headers["Connection"] == "close" and "Accept" not in headers
        assert headers["Accept-Encoding"] == "gzip,deflate"
