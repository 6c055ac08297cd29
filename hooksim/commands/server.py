"""`hooksim serve`: the dispatcher, the receiver, the API and the pages on one port."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from hooksim.app import build_app
from hooksim.commands.common import add_config_options, settings_from_args
from hooksim.errors import UsageError
from hooksim.runner import serve_app
from storage import StorageError


def register(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser(
        "serve",
        help="run hooksim (dispatcher, receiver, API, pages) on one port",
        description="Run hooksim on one port: the admin API under /api, the receiver's "
        "endpoints under /hooks/{name}, and the web pages at /. Binds 127.0.0.1 unless told.",
    )
    add_config_options(serve)
    serve.add_argument("--host", help="address to bind (default server.host, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default server.port, 8080; 0 = any free)")
    serve.add_argument("--db", metavar="PATH", help="SQLite database file (default storage.path)")
    serve.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    overrides: dict[str, dict[str, Any]] = {}
    if args.host:
        overrides.setdefault("server", {})["host"] = args.host
    if args.port is not None:
        overrides.setdefault("server", {})["port"] = args.port
    if args.db:
        overrides.setdefault("storage", {})["path"] = args.db
    settings = settings_from_args(args, **overrides)

    def announce(base: str) -> None:
        print(f"hooksim serving on {base}", flush=True)
        print(f"  health:   {base}/healthz", flush=True)
        print(f"  database: {settings.storage.path}", flush=True)

    try:
        asyncio.run(serve_app(build_app(settings), settings.server.host, settings.server.port,
                              settings.server.shutdown_timeout, announce,
                              settings.server.keepalive_timeout))
    except StorageError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot listen on {settings.server.host}:{settings.server.port}: "
                         f"{exc.strerror}") from None
    return 0
