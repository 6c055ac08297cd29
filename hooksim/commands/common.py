"""Options and set-up shared by commands that load settings."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from hooksim.errors import UsageError

if TYPE_CHECKING:   # the command line starts fast: settings, logging and aiohttp load on use
    from hooksim.settings import Settings


class LazyChoices(Sequence[str]):
    """``choices`` for argparse read on first use (checking or printing a value), so building the
    parser does not import what lists them: `hooksim --help` and `hooksim sign` start fast.
    Give the argument a ``metavar``: argparse would otherwise list the choices while building."""

    def __init__(self, load: Callable[[], Sequence[str]]) -> None:
        self._load = load
        self._items: tuple[str, ...] | None = None

    def _all(self) -> tuple[str, ...]:
        if self._items is None:
            self._items = tuple(self._load())
        return self._items

    def __getitem__(self, index: Any) -> Any:
        return self._all()[index]

    def __len__(self) -> int:
        return len(self._all())

    def __contains__(self, value: object) -> bool:
        return value in self._all()


def categories() -> LazyChoices:
    """The event catalogue's categories, the one list of them."""
    def load() -> Sequence[str]:
        from dispatcher import events as catalogue
        return catalogue.categories()
    return LazyChoices(load)


def add_config_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="PATH", default=None,
                        help="settings file (default: ./config.toml if present, else built-in "
                        "defaults); HOOKSIM_<SECTION>_<KEY> variables override single keys")
    parser.add_argument("--log-level", choices=["debug", "info", "warning", "error"],
                        help="override log.level")


def settings_from_args(args: argparse.Namespace, **overrides: dict[str, Any]) -> Settings:
    """Load settings (file, environment, then command-line overrides) and configure logging."""
    import os

    from hooksim.config import ConfigError, load_settings
    from hooksim.logs import configure_logging

    path = args.config
    if path is None and os.path.exists("config.toml"):
        path = "config.toml"
    if getattr(args, "log_level", None):
        overrides.setdefault("log", {})["level"] = args.log_level
    try:
        settings = load_settings(path, overrides=overrides)
    except ConfigError as exc:
        raise UsageError(f"configuration error: {exc}") from None
    configure_logging(settings.log.level, settings.log.format)
    return settings


def add_api_options(parser: argparse.ArgumentParser) -> None:
    """``--url`` and ``--credentials`` for commands that talk to a running server's API."""
    parser.add_argument("--server", dest="url", metavar="URL", default=None,
                        help="the running server's base URL (default: $HOOKSIM_URL, else the "
                        "server started from this folder, found in .hooksim/runtime.json, else "
                        "http://server.host:server.port)")
    parser.add_argument("--credentials", metavar="PATH", default=None,
                        help="credentials file written by `hooksim serve` "
                        "(default auth.credentials_file)")


def call_api(args: argparse.Namespace, method: str, path: str, *, json: Any = None,
             params: dict[str, Any] | None = None) -> Any:
    """One request to the running server for a command with config and API options."""
    from hooksim.client import ApiClient, run_api_command

    async def action(client: ApiClient) -> Any:
        return await client.request(method, path, json=json, params=params)

    return run_api_command(settings_from_args(args), action, url=args.url,
                           credentials=args.credentials)


def run_server(settings: Settings, build: Callable[[Settings], Any],
               describe: Callable[[str, Any], list[str]], *, runtime_file: bool = False) -> int:
    """Build an app and serve it until a stop signal; the lines ``describe(base_url, app)``
    returns are printed once the port is bound. Start-up problems become one-line errors.
    ``runtime_file``: record the URL in ``.hooksim/runtime.json`` for the CLI (removed on the
    way out)."""
    import asyncio
    import sys
    from pathlib import Path

    from hooksim.auth import CREDENTIALS_PATH
    from hooksim.credentials_file import CredentialsFileError
    from hooksim.runner import loop_factory, serve_app
    from hooksim.runtime_file import remove_runtime, write_runtime
    from storage import StorageError

    try:
        app = build(settings)
    except ValueError as exc:   # settings the components refuse, e.g. invalid fault phases
        raise UsageError(f"configuration error: {exc}") from None
    written: list[Path] = []

    def announce(base: str) -> None:
        if runtime_file:
            credentials = app[CREDENTIALS_PATH] if CREDENTIALS_PATH in app else None
            try:
                written.append(write_runtime(base, credentials and str(credentials)))
            except OSError as exc:   # a read-only folder: serve anyway, the CLI needs --server
                print(f"hooksim: cannot write .hooksim/runtime.json ({exc.strerror}); the CLI "
                      f"will need --server {base}", file=sys.stderr)
        print("\n".join(describe(base, app)), flush=True)

    server = settings.server
    try:
        with asyncio.Runner(loop_factory=loop_factory(server.event_loop)) as runner:
            runner.run(serve_app(app, server.host, server.port, server.shutdown_timeout,
                                 announce, server.keepalive_timeout, server.read_timeout,
                                 server.gc_young_threshold))
    except (StorageError, CredentialsFileError) as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot listen on {server.host}:{server.port}: {exc.strerror}") from None
    finally:
        for path in written:
            remove_runtime(path)
    return 0


def add_export_options(parser: argparse.ArgumentParser, formats: tuple[str, ...]) -> None:
    parser.add_argument("--format", choices=formats, default=formats[0],
                        help=f"file format (default {formats[0]}); har: HAR 1.2, opens in browser "
                        "dev tools and HAR viewers")
    parser.add_argument("--output", "-o", metavar="FILE", help="write here (default: stdout)")


def write_export(answer: Any, output: str | None) -> int:
    """An export as the server sent it: JSON documents (HAR) re-serialised, text as it is."""
    import json
    import sys

    text = answer if isinstance(answer, str) else json.dumps(answer, ensure_ascii=False) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        with open(output, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    return 0
