"""The example integration (webhooks + polling, as Toast recommends) converges to the API's
truth with its subscriptions healthy, paused and stopped, and `hooksim check --reconcile`
says so, or says what it missed before it polled."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from dispatcher.backoff import BackoffRules
from examples.polling_integration.integration import Integration, make_app
from hooksim.auth import CREDENTIAL_STORE
from tests.toastapi.conftest import Toast
from toastapi.reconcile import reconcile

ROOT = Path(__file__).resolve().parents[2]
# Every category with a fallback API (guest_order_status and packaging have none).
CATEGORIES = ("orders", "partner", "menus", "stock", "ordering_schedule", "restaurant_availability",
              "restaurant_availability_toggle")


@pytest.fixture
def backoff_rules() -> BackoffRules:
    return BackoffRules(5, 300.0, 60.0, 3, 600.0)


async def setup(toast: Toast, aiohttp_server: Any) -> tuple[Integration, str, list[str]]:
    d = toast.dispatcher
    record = await toast.client.app[CREDENTIAL_STORE].client()
    base = str(toast.client.make_url("")).rstrip("/")
    integration = Integration(base, record.client_id, record.client_secret, [], now=d.clock.now)
    server = await aiohttp_server(make_app(integration))
    subscriptions = []
    for category in CATEGORIES:
        sub = await d.service.create_subscription(
            event_category=category, url=str(server.make_url("/webhook")),
            notification_email="dev@example.com")
        integration.secrets.append(sub.secret)
        subscriptions.append(sub.guid)
    return integration, str(server.make_url("/state")), subscriptions


async def send_round(toast: Toast, turn: int) -> None:
    """One event of every category; partner events never touch restaurant 0, so it stays
    connected and its orders always count."""
    d = toast.dispatcher
    for category in CATEGORIES:
        index = 1 + turn % 3 if category == "partner" else turn % 2
        await d.service.send_events(category=category,
                                    restaurant_guid=d.service.restaurants[index].guid)


async def statuses(toast: Toast, subscriptions: list[str]) -> set[str]:
    return {(await toast.dispatcher.service.get_subscription(g)).status for g in subscriptions}


async def check(toast: Toast, state_url: str):
    record = await toast.client.app[CREDENTIAL_STORE].client()
    base = str(toast.client.make_url("")).rstrip("/")
    return await reconcile(base, record.client_id, record.client_secret, state_url)


@pytest.mark.parametrize("mode", ["healthy", "paused", "stopped"])
async def test_the_example_converges(toast, aiohttp_server, mode):
    d = toast.dispatcher
    integration, state_url, subscriptions = await setup(toast, aiohttp_server)
    async with aiohttp.ClientSession() as session:
        await integration.poll_once(session)   # onboarding: what is there already
        assert (await check(toast, state_url)).converged
        if mode == "healthy":
            for turn in range(4):
                await send_round(toast, turn)
                await d.run_due()
                d.clock.advance(5)
            assert await statuses(toast, subscriptions) == {"ACTIVE"}
            assert (await check(toast, state_url)).converged   # the webhooks alone
        else:
            integration.failing = True
            wanted = "PAUSED" if mode == "paused" else "STOPPED"
            for turn in range(60):
                await send_round(toast, turn)
                await d.run_due()
                if await statuses(toast, subscriptions) == {wanted}:
                    break
                d.clock.advance(20)
                await d.run_due()
            assert await statuses(toast, subscriptions) == {wanted}
            for turn in range(3):   # Not sent: the endpoint never hears of these
                await send_round(toast, 100 + turn)
                await d.run_due()
            integration.failing = False
            before = await check(toast, state_url)
            assert not before.converged
            assert {f.section for f in before.findings} >= {"orders"}
        d.clock.advance(1)
        await integration.poll_once(session)   # the fallback poll recovers what was missed
    after = await check(toast, state_url)
    assert after.converged, [f.line() for f in after.findings]
    assert after.compared["orders"] > 0 and after.compared["restaurants"] > 0


async def test_check_reconcile_command_reports_and_exits_1_until_converged(toast, aiohttp_server,
                                                                            tmp_path):
    d = toast.dispatcher
    integration, state_url, _ = await setup(toast, aiohttp_server)
    base = str(toast.client.make_url("")).rstrip("/")
    await send_round(toast, 0)     # no webhook reached it and it never polled
    integration.failing = True
    await d.run_due()

    async def hooksim_check() -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "hooksim", "check", "--reconcile", state_url, "--server", base,
            "--credentials", str(tmp_path / "credentials.json"),
            "--report", str(tmp_path / "report.json"), cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await process.communicate()
        return process.returncode, out.decode() + err.decode()

    code, output = await hooksim_check()
    assert code == 1, output
    assert "orders" in output and "missed" in output and "difference(s)" in output
    async with aiohttp.ClientSession() as session:
        await integration.poll_once(session)
    code, output = await hooksim_check()
    assert code == 0, output
    assert "reconcile: converged" in output
    assert '"converged": true' in (tmp_path / "report.json").read_text()
