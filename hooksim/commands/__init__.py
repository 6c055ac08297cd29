"""Command groups of the CLI; each module has ``register(subparsers)``.

``COMMANDS`` says which module registers each top-level command, so ``hooksim sign`` builds
(and imports) only its own module's parsers: the commands that need no server start fast.
tests/cli checks the table against what the modules register.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

MODULES = ("signatures", "server", "dispatch", "credentials", "receiver", "loadtest")
COMMANDS = {
    "sign": "signatures", "verify": "signatures", "secret": "signatures",
    "serve": "server",
    "subscriptions": "dispatch", "events": "dispatch", "deliveries": "dispatch",
    "notifications": "dispatch",
    "credentials": "credentials",
    "receive": "receiver", "receiver": "receiver",
    "load": "loadtest", "check": "loadtest", "predict": "loadtest",
}


def command_modules(command: str | None = None) -> list[ModuleType]:
    """The module of ``command``, or every module (in help order) for anything else."""
    names = [COMMANDS[command]] if command in COMMANDS else MODULES
    return [import_module(f"hooksim.commands.{name}") for name in names]
