"""GET /metrics on the real app: known traffic in, exact counts out, read with
prometheus_client's own parser."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from dispatcher.app import ENGINE
from dispatcher.clock import FakeClock
from hooksim.metrics import METRICS, Metrics
from storage.observe import Depths
from tests.auth.helpers import bearer_headers
from tests.webhooks import Target
from tests.observability.conftest import SECRET, MakeApp, scrape, series, value
from tests.webhooks import envelope, signed

# Small back-off numbers, so a pause and a stop take a handful of attempts.
BACKOFF = {"errors_to_pause": 3, "error_window_seconds": 60.0, "pause_seconds": 60.0,
           "pauses_to_stop": 2, "pause_window_seconds": 600.0}
# One delivery in flight at a time: a claim during a pause finds one delivery and suppresses the
# rest of the pause's deliveries in bulk (the path that counts them without claiming them).
# The platform's own 2 s timeouts: a local target's answer must never time out on a busy machine.
DISPATCHER = {"enabled": False, "concurrency": 1, "poll_interval": 0.01}


async def target_at(aiohttp_server: Any, status: int) -> Target:
    target = Target(status=status)
    app = web.Application()
    app.router.add_post("/hook", target.handle)
    server = await aiohttp_server(app)
    target.url = str(server.make_url("/hook"))
    return target


async def settle(client: TestClient[Any, Any]) -> None:
    """Everything due now is sent (or suppressed) and recorded: a few passes, since a pass
    claims only as many deliveries as there are free slots."""
    engine = client.app[ENGINE]
    for _ in range(5):
        await engine.step()
        await engine.drain()


async def test_dispatcher_counts_attempts_retries_a_pause_and_a_stop(
        make_app: MakeApp, aiohttp_server: Any) -> None:
    clock = FakeClock()
    client = await make_app(clock=clock, dispatcher=DISPATCHER, backoff=BACKOFF)
    auth = await bearer_headers(client)
    ok, bad = await target_at(aiohttp_server, 200), await target_at(aiohttp_server, 500)

    async def subscribe(category: str, url: str) -> str:
        response = await client.post("/api/subscriptions", headers=auth, json={
            "eventCategory": category, "url": url, "notificationEmail": "dev@example.com"})
        assert response.status == 201, await response.text()
        return (await response.json())["guid"]

    async def send(category: str, count: int) -> None:
        response = await client.post("/api/events", headers=auth,
                                     json={"eventCategory": category, "count": count})
        assert response.status == 202, await response.text()

    good, failing = await subscribe("menus", ok.url), await subscribe("stock", bad.url)

    await send("stock", 3)   # three 500s: three retries scheduled, and the third error pauses
    await settle(client)
    await send("stock", 2)   # during the pause: both NOT_SENT (one claimed, one in bulk)
    await settle(client)
    metrics = await scrape(client)
    assert value(metrics, "hooksim_subscriptions", status="PAUSED") == 1
    assert value(metrics, "hooksim_outbox_deliveries", state="pending") == 3   # the retries
    assert value(metrics, "hooksim_outbox_deliveries", state="due") == 0
    clock.advance(300)       # the pause ended; the retries fail again: a second pause, a stop
    await settle(client)
    clock.advance(600)       # the second retries are due, for a stopped subscription: NOT_SENT
    await settle(client)
    await send("menus", 4)
    await settle(client)
    metrics = await scrape(client)
    assert value(metrics, "hooksim_subscriptions", status="STOPPED") == 1
    response = await client.post(f"/api/subscriptions/{failing}/restart", headers=auth)
    assert response.status == 200, await response.text()
    bad.status = 400         # final at once: a FAILURE without retries
    await send("stock", 1)
    await settle(client)

    metrics = await scrape(client)
    assert series(metrics, "hooksim_deliveries_total") == {
        frozenset({("category", "menus"), ("status", "SUCCESS")}): 4,
        frozenset({("category", "stock"), ("status", "NOT_SENT")}): 5,
        frozenset({("category", "stock"), ("status", "FAILURE")}): 1,
    }
    assert series(metrics, "hooksim_delivery_attempts_total") == {
        frozenset({("subscription", good), ("outcome", "2xx")}): 4,
        frozenset({("subscription", failing), ("outcome", "5xx")}): 6,
        frozenset({("subscription", failing), ("outcome", "4xx")}): 1,
    }
    assert len(ok.requests) == 4 and len(bad.requests) == 7   # what the targets really got
    assert series(metrics, "hooksim_delivery_retries_scheduled_total") == {
        frozenset({("category", "stock")}): 6}
    assert series(metrics, "hooksim_backoff_transitions_total") == {
        frozenset({("kind", kind)}): 1 for kind in ("PAUSED", "RESUMED", "STOPPED", "RESTARTED")}
    assert value(metrics, "hooksim_delivery_attempt_duration_seconds_count") == 11
    assert value(metrics, "hooksim_delivery_attempt_duration_seconds_bucket", le="+Inf") == 11
    assert value(metrics, "hooksim_subscriptions", status="ACTIVE") == 2
    assert value(metrics, "hooksim_outbox_deliveries", state="pending") == 0
    # Each transition but RESUMED emails the owner: three written, DISABLED with SMTP off.
    assert value(metrics, "hooksim_notifications", status="DISABLED") == 3
    assert value(metrics, "hooksim_notifications", status="PENDING") == 0
    assert value(metrics, "hooksim_database_up") == 1


async def test_receiver_counts_verdicts_and_group_commits(make_app: MakeApp) -> None:
    client = await make_app(dispatcher={"enabled": False})
    first = envelope()
    answers = []
    for body, headers, path in [
        (first, signed(first, SECRET), "/hooks/orders"),
        (envelope(), signed(envelope(), SECRET), "/hooks/orders"),  # signed over another body
        (first, signed(first, SECRET), "/hooks/orders"),            # the platform's retry
        (first, signed(first, "not-the-secret"), "/hooks/orders"),
        (first, signed(first, SECRET), "/hooks/nobody"),
        (first, signed(first, SECRET), "/hooks/" + "x" * 101),      # no endpoint could be named so
    ]:
        response = await client.post(path, data=body, headers=headers)
        answers.append((response.status, (await response.json()).get("error")))
    assert [status for status, _ in answers] == [200, 401, 200, 401, 404, 404]
    mismatch = answers[1][1]
    assert answers[3][1] == mismatch

    async with client.get("/api/messages/stream", headers=await bearer_headers(client)) as stream:
        await stream.content.readline()   # connected: the listener is counted
        metrics = await scrape(client)
    assert value(metrics, "hooksim_sse_listeners") == 1
    assert series(metrics, "hooksim_receiver_messages_total") == {
        frozenset({("endpoint", "orders"), ("verdict", "verified"), ("reason", "")}): 1,
        frozenset({("endpoint", "orders"), ("verdict", "duplicate"), ("reason", "")}): 1,
        frozenset({("endpoint", "orders"), ("verdict", "rejected"), ("reason", mismatch)}): 2,
        frozenset({("endpoint", "(unknown)"), ("verdict", "rejected"),
                   ("reason", "unknown_endpoint")}): 2,
    }
    # One transaction per request (they came one at a time); the bad name is never stored.
    assert value(metrics, "hooksim_receiver_commit_batch_size_count") == 5
    assert value(metrics, "hooksim_receiver_commit_batch_size_sum") == 5
    assert value(metrics, "hooksim_receiver_commit_duration_seconds_count") == 5
    assert (await scrape(client)).get(("hooksim_sse_listeners", frozenset())) == 0


async def test_each_app_has_its_own_registry(make_app: MakeApp, storage_settings: Any) -> None:
    if storage_settings.backend != "sqlite":
        pytest.skip("about registries, not storage")
    one = await make_app(dispatcher={"enabled": False})
    two = await make_app(dispatcher={"enabled": False})
    body = envelope()
    assert (await one.post("/hooks/orders", data=body, headers=signed(body, SECRET))).status == 200
    assert value(await scrape(one), "hooksim_receiver_messages_total", endpoint="orders",
                 verdict="verified", reason="") == 1
    assert value(await scrape(two), "hooksim_receiver_messages_total", endpoint="orders",
                 verdict="verified", reason="") is None
    assert isinstance(one.app[METRICS], Metrics) and one.app[METRICS] is not two.app[METRICS]


async def test_metrics_need_a_token_off_loopback(make_app: MakeApp, storage_settings: Any
                                                 ) -> None:
    if storage_settings.backend != "sqlite":
        pytest.skip("about access, not storage")
    # Bound elsewhere (only the setting: the test server still listens on 127.0.0.1).
    client = await make_app(dispatcher={"enabled": False}, server={"host": "0.0.0.0"},
                            metrics={"token": "scrape-me"})
    response = await client.get("/metrics")
    assert response.status == 401 and (await response.json())["error"] == "missing_token"
    assert (await client.get("/metrics", headers={"Authorization": "Bearer wrong"})).status == 401
    assert value(await scrape(client, Authorization="Bearer scrape-me"),
                 "hooksim_database_up") == 1
    # hooksim's own access tokens open it too
    assert value(await scrape(client, **await bearer_headers(client)), "hooksim_database_up") == 1
    # and on loopback with access = "token"
    guarded = await make_app(dispatcher={"enabled": False}, metrics={"access": "token"})
    assert (await guarded.get("/metrics")).status == 401
    opened = await make_app(dispatcher={"enabled": False}, server={"host": "0.0.0.0"},
                            metrics={"access": "open"})
    assert value(await scrape(opened), "hooksim_database_up") == 1


def test_docs_name_every_series_the_app_serves(tmp_path: Any) -> None:
    """docs/observability.md's table and the registry list the same series."""
    docs = (Path(__file__).resolve().parents[2] / "docs" / "observability.md").read_text()
    documented = set(re.findall(r"^\| `(hooksim_[a-z_]+)`", docs, re.MULTILINE))
    metrics = Metrics()
    metrics.database.dispatch = metrics.database.notifications = True
    metrics.database.depths = Depths()
    served = {family.name for family in text_string_to_metric_families(
        generate_latest(metrics.registry).decode()) if not family.name.endswith("_created")}
    # the parser names a counter's family without its _total suffix
    assert {name.removesuffix("_total") for name in documented} == served


async def test_metrics_can_be_switched_off(make_app: MakeApp, storage_settings: Any) -> None:
    if storage_settings.backend != "sqlite":
        pytest.skip("about a setting, not storage")
    client = await make_app(dispatcher={"enabled": False}, metrics={"enabled": False})
    off = await client.get("/metrics")
    assert off.status == 404 and "hooksim_" not in await off.text()
    ready = await client.get("/readyz")   # readiness is not a metric
    assert ready.status == 200 and (await ready.json())["status"] == "ready"
