"""Errors the CLI turns into one line and an exit code."""

from __future__ import annotations


class UsageError(Exception):
    """Something the user can fix: bad arguments, bad config, unreadable input."""

    exit_code = 2

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code
