"""Reading a request: its JSON body and its query parameters. Each refusal is an
:class:`~web.errors.InvalidInput` naming the parameter (``field``) and saying what it takes.
An absent or empty parameter is its default (no bound, no filter, the first page, the default
size: what an empty form field sends)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web import RequestPayloadError

from storage import query as pages
from web.errors import InvalidInput
from web.times import GRAMMAR, bound

T = TypeVar("T")


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object (NaN and Infinity are not JSON)."""
    try:
        body = json.loads(await request.read(), parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:   # RecursionError: nesting
        raise InvalidInput(f"request body is not JSON: {exc}") from None
    except (HttpProcessingError, RequestPayloadError) as exc:   # a body it cannot decode (gzip)
        raise InvalidInput(f"request body is unreadable: {exc.__class__.__name__}") from None
    if not isinstance(body, dict):
        raise InvalidInput("request body must be a JSON object")
    return body


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def string_field(body: Mapping[str, Any], key: str) -> str:
    """A required non-empty string field of a JSON body."""
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{key} must be a non-empty string", key)
    return value


def query_time(query: Mapping[str, str], name: str, *, end: bool = False) -> float | None:
    """Epoch seconds of a time bound (:func:`web.times.bound`), or None if absent.
    ``end``: an upper bound, where a date means the end of its day."""
    text = query.get(name)
    if not text:
        return None
    try:
        return bound(text, end=end)
    except ValueError:
        raise InvalidInput(f"{name} must be {GRAMMAR}; got {text!r}", name) from None


def query_int(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """A whole-number parameter in ``low..high``."""
    text = query.get(name)
    if not text:
        return default
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise InvalidInput(f"{name} must be an integer {low}-{high}, got {text!r}", name)
    return int(text)


def query_choice(query: Mapping[str, str], name: str, table: Mapping[str, T]) -> T | None:
    """The table's value for a parameter (case-insensitive key), or None if absent."""
    text = query.get(name)
    if not text:
        return None
    try:
        return table[text.lower()]
    except KeyError:
        raise InvalidInput(f"{name} must be one of {', '.join(table)}, got {text!r}",
                           name) from None


def query_cursor(query: Mapping[str, str], name: str = "cursor") -> tuple[float, int] | None:
    """A cursor this API gave out (``storage.query``), or None for the first page."""
    text = query.get(name)
    if not text:
        return None
    try:
        return pages.decode_cursor(text)
    except ValueError:
        raise InvalidInput(f"{name} is not one this API returned (<time>:<id>)", name) from None


def cursor_text(cursor: tuple[float, int] | None) -> str | None:
    """The ``nextCursor`` of a page: None on the last page."""
    return None if cursor is None else pages.encode_cursor(cursor)
