"""Disorder on purpose: the pure plan, its wiring where deliveries are made (serve's API), and
its visibility (the deliveries list, the delivery.disorder log line)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime

import pytest
from aiohttp import web
from structlog.testing import capture_logs

from dispatcher.app import setup_dispatcher
from dispatcher.api import SERVICE
from dispatcher.clock import FakeClock
from dispatcher.disorder import Disorder
from dispatcher.settings import BackoffSettings, DemoSettings, DisorderSettings, SmtpSettings
from hooksim.app import build_app
from hooksim.settings import Settings
from storage.settings import StorageSettings
from storage.web import setup_database
from tests.dispatcher.conftest import FAST

AT = 1_700_000_000.0


def plan(settings: DisorderSettings, events: int = 2000) -> list[list[tuple[float, str]]]:
    disorder = Disorder(settings)
    return [[(c.due_at - (AT + i), c.kind) for c in disorder.copies(AT + i)] for i in range(events)]


def test_no_disorder_is_one_delivery_due_at_once() -> None:
    assert plan(DisorderSettings(), 3) == [[(0.0, "original")]] * 3


def test_the_same_seed_plans_the_same_copies_and_another_seed_others() -> None:
    settings = DisorderSettings(duplicate_rate=0.2, reorder_window=30, late_rate=0.1, seed=7)
    assert plan(settings) == plan(settings)
    assert plan(settings) != plan(replace(settings, seed=8))


def test_rates_windows_and_delays_are_what_they_say() -> None:
    settings = DisorderSettings(duplicate_rate=0.2, duplicate_within=60, reorder_window=30,
                                late_rate=0.1, late_after=600, seed=3)
    planned = plan(settings, 5000)
    kinds = Counter(kind for copies in planned for _, kind in copies)
    assert kinds["reordered"] == 5000 and kinds["original"] == 0
    assert 0.17 < kinds["duplicate"] / 5000 < 0.23 and 0.08 < kinds["late"] / 5000 < 0.12
    for copies in planned:
        shift = copies[0][0]
        assert 0 <= shift <= 30
        for due, kind in copies[1:]:
            if kind == "duplicate":
                assert shift <= due <= shift + 60
            else:
                assert kind == "late" and due == 600


def test_counts_are_per_event_moment() -> None:
    disorder = Disorder(DisorderSettings(duplicate_rate=1.0, seed=1))
    for i in range(10):
        disorder.copies(AT + i)
    assert disorder.counts()["duplicate"] == 10
    assert disorder.counts(made_by=AT + 4)["duplicate"] == 5
    assert disorder.summary(made_by=AT + 4)["duplicates"] == 5


@pytest.fixture
async def api(aiohttp_client, tmp_path):
    app = web.Application()
    setup_database(app, StorageSettings(path=str(tmp_path / "d.db")))
    setup_dispatcher(app, replace(FAST, enabled=False), BackoffSettings(), SmtpSettings(),
                     FakeClock(), disorder=DisorderSettings(duplicate_rate=1.0, late_rate=1.0,
                                                            late_after=600, seed=5))
    return await aiohttp_client(app)


def seconds(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


async def test_serve_makes_the_copies_where_deliveries_are_made_and_logs_them(api) -> None:
    resp = await api.post("/api/subscriptions", json={
        "eventCategory": "stock", "url": "http://127.0.0.1:9/hook",
        "notificationEmail": "dev@example.com"})
    sub = await resp.json()
    with capture_logs() as logs:
        resp = await api.post("/api/events", json={"eventCategory": "stock", "count": 3})
        assert resp.status == 202, await resp.text()
    deliveries = (await (await api.get(
        f"/api/subscriptions/{sub['guid']}/deliveries", params={"limit": "50"})).json())["items"]
    by_event: dict[str, list[dict]] = {}
    for d in deliveries:
        by_event.setdefault(d["eventGuid"], []).append(d)
    assert len(by_event) == 3 and all(len(ds) == 3 for ds in by_event.values())
    for copies in by_event.values():
        assert len({d["webhookGuid"] for d in copies}) == 3          # three deliveries
        assert len({(d["body"], d["signature"]) for d in copies}) == 1   # of the very same bytes
        delays = sorted(seconds(d["nextAttemptAt"]) - seconds(d["createdAt"]) for d in copies)
        assert delays[0] == 0 and 0 <= delays[1] <= 60 and delays[2] == pytest.approx(600)
    logged = Counter(line["kind"] for line in logs if line["event"] == "delivery.disorder")
    assert logged == {"duplicate": 3, "late": 3}


async def test_serve_reads_the_disorder_section(aiohttp_client, tmp_path) -> None:
    wanted = DisorderSettings(duplicate_rate=0.5, seed=9)
    settings = Settings(storage=StorageSettings(path=str(tmp_path / "serve.db")),
                        demo=DemoSettings(enabled=False), disorder=wanted)
    client = await aiohttp_client(build_app(settings))
    assert client.app[SERVICE].disorder.settings == wanted
