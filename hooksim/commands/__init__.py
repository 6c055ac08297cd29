"""Command groups of the CLI; each module has ``register(subparsers)``."""

from __future__ import annotations

from hooksim.commands import credentials, dispatch, loadtest, receiver, server, signatures

COMMAND_MODULES = (signatures, server, dispatch, credentials, receiver, loadtest)
