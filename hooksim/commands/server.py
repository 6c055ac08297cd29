"""`hooksim serve`: the dispatcher, the receiver, the API and the pages on one port, or with
``--role`` one of them, for running the parts as separate processes on one PostgreSQL."""

from __future__ import annotations

import argparse
from typing import Any

from hooksim.commands.common import add_config_options, run_server, settings_from_args


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
    serve.add_argument("--role", choices=["all", "dispatcher", "receiver", "api"],
                       help="what this process runs (default server.role, all): dispatcher = "
                       "delivery and notification emails, receiver = /hooks and its inspection "
                       "API, api = admin API and portal; several processes share one PostgreSQL")
    serve.add_argument("--no-demo", action="store_true",
                       help="no demo subscriptions or event stream (demo.enabled = false)")
    serve.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    overrides: dict[str, dict[str, Any]] = {}
    if args.host:
        overrides.setdefault("server", {})["host"] = args.host
    if args.port is not None:
        overrides.setdefault("server", {})["port"] = args.port
    if args.role:
        overrides.setdefault("server", {})["role"] = args.role
    if args.db:
        overrides.setdefault("storage", {})["path"] = args.db
    if args.no_demo:
        overrides["demo"] = {"enabled": False}
    from hooksim.app import build_app
    from hooksim.auth import CREDENTIALS_PATH

    settings = settings_from_args(args, **overrides)

    role = settings.server.role

    def describe(base: str, app: Any) -> list[str]:
        lines = [f"hooksim serving on {base}"]   # scripts take the URL from its end
        if role != "all":
            lines.append(f"  role:        {role}")
        if role in ("all", "api"):
            lines += [f"  portal:      {base}/  (log in with the credentials file's client id/secret)",
                      f"  api:         {base}/api  (docs/openapi.yaml)"]
        if role in ("all", "receiver"):
            lines.append(f"  receiver:    {base}/hooks/{{name}}")
        if role == "dispatcher":
            lines.append("  delivering:  due deliveries and notification emails from the database")
        lines.append(f"  health:      {base}/healthz  ready: {base}/readyz")
        if settings.metrics.enabled:
            lines.append(f"  metrics:     {base}/metrics  (docs/observability.md)")
        lines.append(f"  database:    {settings.storage.where()}")
        if CREDENTIALS_PATH in app:
            lines.append(f"  credentials: {app[CREDENTIALS_PATH]} (owner-only; the CLI reads it)")
        return lines

    # Only the API roles: the CLI reads the file to find the API.
    return run_server(settings, build_app, describe, runtime_file=role in ("all", "api"))
