"""The orders app's tests, written as an integrator would with hooksim's pytest plugin.

hooksim_platform is the platform in this process: retries minutes apart and a five-minute pause
happen in moments on its clock, while the app answers in real time.
"""

from __future__ import annotations

import pytest

from endpoint_check.probe import run_checks
from orders_app import ORDERS, make_app


@pytest.fixture
async def app_url(aiohttp_server, hooksim_secret):
    """The app, verifying with the secret the platform signs with."""
    app = make_app(secret=hooksim_secret)
    server = await aiohttp_server(app)
    return str(server.make_url("/toast/orders")), app[ORDERS]


async def test_every_order_is_processed_once(hooksim_platform, hooksim_secret, app_url):
    url, orders = app_url
    subscription = await hooksim_platform.subscribe(url, "orders", secret=hooksim_secret)
    sent = await hooksim_platform.send("orders", count=5)
    await hooksim_platform.settle()

    deliveries = await hooksim_platform.deliveries(subscription)
    assert [d.status for d in deliveries] == ["SUCCESS"] * 5
    assert [d.statuses for d in deliveries] == [[200]] * 5
    assert orders.processed == [event.guid for event in sent]


async def test_a_retried_event_is_acknowledged_but_not_processed_again(
        hooksim_platform, hooksim_secret, app_url):
    url, orders = app_url
    subscription = await hooksim_platform.subscribe(url, "orders", secret=hooksim_secret)
    [event] = await hooksim_platform.send("orders")
    await hooksim_platform.settle()
    [delivery] = await hooksim_platform.deliveries(subscription)

    await hooksim_platform.redeliver(delivery)       # same GUID, same bytes
    await hooksim_platform.settle()

    [delivery] = await hooksim_platform.deliveries(subscription)
    assert delivery.statuses == [200, 200]
    assert orders.processed == [event.guid]


async def test_an_outage_is_retried_through_a_pause_and_nothing_is_lost(
        hooksim_platform, hooksim_secret, app_url):
    url, orders = app_url
    orders.failing = True                            # the app's database is down
    subscription = await hooksim_platform.subscribe(url, "orders", secret=hooksim_secret)
    sent = await hooksim_platform.send("orders", count=50)
    await hooksim_platform.advance(60)               # a platform minute: retries, then a pause
    assert (await hooksim_platform.backoff(subscription)).status == "PAUSED"

    orders.failing = False                           # back up
    await hooksim_platform.settle()                  # the pause ends, the retries succeed

    backoff = await hooksim_platform.backoff(subscription)
    assert backoff.status == "ACTIVE"
    assert [t.kind for t in backoff.history] == ["PAUSED", "RESUMED"]
    deliveries = await hooksim_platform.deliveries(subscription)
    assert all(d.status == "SUCCESS" and d.statuses[0] == 503 and d.statuses[-1] == 200
               for d in deliveries)
    assert sorted(orders.processed) == sorted(event.guid for event in sent)


async def test_a_wrong_secret_is_refused(hooksim_platform, app_url):
    url, orders = app_url
    subscription = await hooksim_platform.subscribe(url, "orders", secret="not-the-apps-secret")
    await hooksim_platform.send("orders")
    await hooksim_platform.settle()

    [delivery] = await hooksim_platform.deliveries(subscription)
    assert delivery.statuses[0] == 401
    assert orders.processed == []


async def test_the_app_passes_hooksim_check(hooksim_secret, app_url):
    """What `hooksim check --url ... --secret ...` runs in CI."""
    url, _ = app_url
    results = await run_checks(url, hooksim_secret, previous_secret="the-secret-before-rotation")
    assert [r.name for r in results if not r.passed] == []


async def test_relayed_webhooks_keep_their_signature(hooksim_platform, hooksim_secret,
                                                     hooksim_receiver, aiohttp_server):
    app = make_app(secret=hooksim_secret, forward_to=hooksim_receiver.url("kitchen"))
    server = await aiohttp_server(app)
    await hooksim_platform.subscribe(str(server.make_url("/toast/orders")), "orders",
                                     secret=hooksim_secret)
    sent = await hooksim_platform.send("orders", count=3)
    await hooksim_platform.settle()

    relayed = await hooksim_receiver.messages("kitchen")
    assert [m.event_guid for m in relayed] == [event.guid for event in sent]
    assert all(m.verified for m in relayed)          # bytes untouched: signatures still hold
    assert [m.body for m in relayed] == [event.body() for event in sent]
