"""hooksim's pytest plugin: installed by the package, usable from a user's own suite."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from aiohttp import web

from hooksim.testkit import NotSettled, Platform

USER_TEST = '''
from aiohttp import web

async def test_user_app(hooksim_platform, hooksim_secret, aiohttp_server):
    async def hook(request):
        await request.read()
        return web.Response(status=500 if request.headers["Toast-Attempt-Number"] == "1" else 200)

    app = web.Application()
    app.router.add_post("/hook", hook)
    server = await aiohttp_server(app)
    sub = await hooksim_platform.subscribe(str(server.make_url("/hook")), "menus",
                                           secret=hooksim_secret)
    await hooksim_platform.send("menus")
    await hooksim_platform.settle()
    [delivery] = await hooksim_platform.deliveries(sub)
    assert delivery.statuses == [500, 200] and delivery.status == "SUCCESS"
    retried = delivery.attempts[1].started_at - delivery.attempts[0].started_at
    print("retried after", retried, "platform seconds")
'''


def test_the_package_declares_the_pytest11_entry_point() -> None:
    plugins = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert plugins.get("hooksim") == "hooksim.pytest_plugin"


def run_user_suite(tmp_path: Path, test: str, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_user.py").write_text(test)
    (tmp_path / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n")
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
                           *args, str(tmp_path)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)


def test_a_users_suite_gets_the_fixtures_by_installing_hooksim(tmp_path: Path) -> None:
    """No conftest, no import of hooksim: the entry point brings the fixtures."""
    done = run_user_suite(tmp_path, USER_TEST)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
    # menus retry after 5 minutes: platform time, not wall time
    retried = float(done.stdout.split("retried after ")[1].split()[0])
    assert retried >= 300


def test_the_legacy_preset_option(tmp_path: Path) -> None:
    test = '''
async def test_preset(hooksim_platform):
    assert hooksim_platform.service.rules.errors_to_pause == 3
'''
    done = run_user_suite(tmp_path, test, "--hooksim-preset", "legacy")
    assert done.returncode == 0, done.stdout + done.stderr


async def _settle_against_a_down_endpoint(aiohttp_server, tmp_path: Path,   # noqa: ANN001
                                          slow_reads: bool = False) -> None:
    """One stock event to an endpoint answering 503: settle(within=120) must say PENDING, at
    120 - 600 s of platform time (the platform's retries go on past 120 s)."""
    async def down(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=503)

    app = web.Application()
    app.router.add_post("/hook", down)
    server = await aiohttp_server(app)
    async with Platform.started(tmp_path / "p.db") as platform:
        await platform.subscribe(str(server.make_url("/hook")), "stock")
        await platform.send("stock")
        if slow_reads:
            deliveries = platform.service.deliveries
            any_pending = deliveries.any_pending

            async def slow_read() -> bool:
                await asyncio.sleep(0.3)
                return await any_pending()

            deliveries.any_pending = slow_read   # type: ignore[method-assign]
        with pytest.raises(NotSettled, match="PENDING"):
            await platform.settle(within=120)
        assert 120 <= platform.clock.now() - platform.clock.started_platform < 600


async def test_settle_says_what_is_still_pending(aiohttp_server, tmp_path: Path) -> None:
    await _settle_against_a_down_endpoint(aiohttp_server, tmp_path)


async def test_settles_reads_take_no_platform_time_however_slow(aiohttp_server,
                                                                 tmp_path: Path) -> None:
    # A busy machine, made deterministic: each outbox read waits a while in wall time. While it
    # waits the engine is idle, and if settle() did not hold the clock it would jump to the
    # engine's next wake-up: past the deadline and every retry (the delivery would end FAILURE
    # and settle() would return instead of saying what is pending at 120 s).
    await _settle_against_a_down_endpoint(aiohttp_server, tmp_path, slow_reads=True)



async def test_a_platform_with_disorder_sends_duplicates(aiohttp_server, tmp_path: Path) -> None:
    from dispatcher.settings import DisorderSettings

    guids: list[str] = []

    async def record(request: web.Request) -> web.Response:
        guids.append((await request.json())["guid"])
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/hook", record)
    server = await aiohttp_server(app)
    async with Platform.started(tmp_path / "p.db",
                                disorder=DisorderSettings(duplicate_rate=1.0)) as platform:
        await platform.subscribe(str(server.make_url("/hook")), "menus")
        await platform.send("menus", count=3)
        await platform.settle()
    assert len(guids) == 6 and len(set(guids)) == 3


def test_without_pytest_asyncio_the_plugin_offers_nothing_and_breaks_nothing(tmp_path: Path) -> None:
    """The entry point loads in every pytest run of an environment with hooksim installed."""
    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / "pytest_asyncio.py").write_text("raise ImportError('not installed here')\n")
    (tmp_path / "test_sync.py").write_text("def test_plain():\n    assert True\n")
    env = {**os.environ, "PYTHONPATH": str(blocked)}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-p", "no:aiohttp", "-p", "no:asyncio", "--fixtures", str(tmp_path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    listed = {line.split()[0] for line in done.stdout.splitlines() if " -- " in line}
    assert "hooksim_secret" in listed and "hooksim_platform" not in listed
