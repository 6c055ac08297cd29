"""Options and set-up shared by commands that load settings."""

from __future__ import annotations

import argparse
from typing import Any

from hooksim.config import ConfigError, load_settings
from hooksim.errors import UsageError
from hooksim.logs import configure_logging
from hooksim.settings import Settings


def add_config_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="PATH", default=None,
                        help="settings file (default: ./config.toml if present, else built-in "
                        "defaults); HOOKSIM_<SECTION>_<KEY> variables override single keys")
    parser.add_argument("--log-level", choices=["debug", "info", "warning", "error"],
                        help="override log.level")


def settings_from_args(args: argparse.Namespace, **overrides: dict[str, Any]) -> Settings:
    """Load settings (file, environment, then command-line overrides) and configure logging."""
    import os

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
