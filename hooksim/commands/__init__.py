"""Command groups of the CLI; each module has ``register(subparsers)``."""

from __future__ import annotations

from hooksim.commands import server, signatures

COMMAND_MODULES = (signatures, server)
