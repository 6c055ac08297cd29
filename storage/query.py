"""Helpers for the stores' list queries: optional filters and newest-first keyset pages."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def where(*conditions: tuple[str, Any]) -> tuple[str, list[Any]]:
    """``" WHERE a AND b"`` and its parameters, for the conditions whose value is not None.

    A tuple value fills several placeholders, e.g. ``("(created_at, id) < (?, ?)", cursor)``.
    """
    clauses: list[str] = []
    params: list[Any] = []
    for clause, value in conditions:
        if value is None:
            continue
        clauses.append(clause)
        params.extend(value if isinstance(value, tuple) else (value,))
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def keyset_page(rows: Sequence[T], limit: int,
                key: Callable[[T], tuple[float, int]]) -> tuple[list[T], tuple[float, int] | None]:
    """The first ``limit`` of ``rows`` (fetched with ``LIMIT limit + 1``) and the cursor of the
    next page, or None when there is no more."""
    items = list(rows[:limit])
    return items, (key(items[-1]) if len(rows) > limit and items else None)


#: A page cursor as the APIs hand it out: ``<sort time>:<id>``, e.g. ``1711638661.05:42``. Every
#: text this pattern matches decodes (docs/openapi.yaml publishes it), so a cursor is either one
#: a list gave out or a position any client may name, and never an error past the pattern.
CURSOR_PATTERN = r"^[0-9]{1,20}(\.[0-9]{1,20})?(e[-+][0-9]{1,2})?:[0-9]{1,18}$"
_CURSOR = re.compile(CURSOR_PATTERN)


def encode_cursor(key: tuple[float, int]) -> str:
    return f"{key[0]!r}:{key[1]}"


def decode_cursor(text: str) -> tuple[float, int]:
    """The (time, id) of a cursor; ValueError if ``text`` does not match CURSOR_PATTERN."""
    # search, as a JSON Schema validator applies the pattern (Python's "$" also passes a final
    # newline, which float() and int() ignore).
    if not _CURSOR.search(text):
        raise ValueError(f"not a cursor: expected <time>:<id>, got {text[:60]!r}")
    at, _, ident = text.partition(":")
    return float(at), int(ident)
