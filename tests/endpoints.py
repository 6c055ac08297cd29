"""Local endpoints for load tests and probes: healthy, failing, flaky, hanging, deliberately broken
ones, hooksim's own receiver, and the CLI in a subprocess: shared by every test folder (a conftest
is its own folder's; a folder uses the fixtures by importing them into its conftest)."""

from __future__ import annotations

import asyncio
import logging
import random
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import structlog
from aiohttp import web

import signing
from receiver import setup_receiver
from receiver.settings import ReceiverSettings
from storage.settings import StorageSettings
from storage.web import setup_database

SECRET = "load-secret"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
MakeEndpoint = Callable[[Handler], Awaitable[str]]


@pytest.fixture(autouse=True)
def quiet_dispatcher_logs() -> Iterator[None]:
    """One info line per attempt would make these runs measure logging (the CLI mutes it too)."""
    logger, config = logging.getLogger("hooksim.dispatcher"), structlog.get_config()
    level = logger.level
    logger.setLevel(logging.WARNING)            # when hooksim's logging is configured
    if not isinstance(config["logger_factory"], structlog.stdlib.LoggerFactory):
        # structlog's default printer ignores stdlib levels
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    yield
    logger.setLevel(level)
    structlog.configure(**config)


@pytest.fixture
async def endpoint(aiohttp_server) -> AsyncIterator[MakeEndpoint]:
    """``await endpoint(handler)`` serves ``handler`` at POST /hook and returns its URL."""

    async def make(handler: Handler) -> str:
        app = web.Application()
        app.router.add_post("/hook", handler)
        server = await aiohttp_server(app)
        return str(server.make_url("/hook"))

    yield make


def answering(status: int, after: float = 0.0) -> Handler:
    """Answers ``status``, ``after`` seconds late (like a predict model's ``latency``)."""
    async def handle(request: web.Request) -> web.Response:
        await request.read()
        if after:
            await asyncio.sleep(after)
        return web.Response(status=status)
    return handle


def flaky(failure_rate: float, seed: int = 3) -> Handler:
    rng = random.Random(seed)

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=500 if rng.random() < failure_rate else 200)
    return handle


@pytest.fixture
def hanging() -> AsyncIterator[Handler]:
    """Holds every request until the test ends (the client gives up first)."""
    release = asyncio.Event()

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        await release.wait()
        return web.Response(status=200)

    yield handle
    release.set()


@pytest.fixture
async def receiver_url(aiohttp_server, tmp_path: Path) -> str:
    """hooksim's own receiver, verifying with SECRET."""
    app = web.Application()
    setup_database(app, StorageSettings(path=str(tmp_path / "receiver.db")))
    setup_receiver(app, ReceiverSettings(auto_endpoints=True, secrets=(SECRET,)))
    server = await aiohttp_server(app)
    return str(server.make_url("/hooks/probe"))


def verifying(status_when_valid: int = 200) -> Handler:
    """Checks the signature like a real endpoint would, answering 401 when it is wrong."""

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        try:
            signing.verify(SECRET, body, request.headers.get("Toast-Signature", ""))
        except signing.SignatureError:
            return web.Response(status=401)
        return web.Response(status=status_when_valid)
    return handle


async def run_cli(*args: str, timeout: float = 30) -> tuple[int, str, str]:
    """``python -m hooksim ARGS`` in a subprocess, while this loop keeps serving the endpoints."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hooksim", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()
