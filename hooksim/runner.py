"""Run an aiohttp app until SIGINT/SIGTERM, with graceful shutdown and the URLs printed at start."""

from __future__ import annotations

import asyncio
import ipaddress
import signal
import sys
from collections.abc import Callable

import structlog
from aiohttp import web

log = structlog.get_logger("hooksim.server")

# Parts that need the server's own URL (known only once the port is bound) put a future here
# during start-up; the runner resolves it with the base URL.
BASE_URL = web.AppKey("base_url", asyncio.Future)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def serve_app(
    app: web.Application,
    host: str,
    port: int,
    shutdown_timeout: float,
    announce: Callable[[str], None] = print,
    keepalive_timeout: float = 75.0,
) -> None:
    """Serve ``app`` on host:port until a stop signal; ``announce`` gets the base URL once bound."""
    if not is_loopback(host):
        log.warning("server.public_bind", host=host,
                    detail="listening beyond this machine: anyone who can reach it can call it")
        print(f"warning: binding {host}, not loopback; others on the network can reach hooksim",
              file=sys.stderr)
    runner = web.AppRunner(app, shutdown_timeout=shutdown_timeout,
                           keepalive_timeout=keepalive_timeout, access_log=None)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_port = runner.addresses[0][1]
        display_host = f"[{host}]" if ":" in host else host
        base = f"http://{display_host}:{bound_port}"
        if BASE_URL in app and not app[BASE_URL].done():
            app[BASE_URL].set_result(base)
        announce(base)
        log.info("server.started", host=host, port=bound_port)
        await stop.wait()
        log.info("server.stopping")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await runner.cleanup()
        log.info("server.stopped")
