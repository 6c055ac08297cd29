"""JSON routes: the one decorator every handler under ``/api`` wears, and the error answer."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from aiohttp import web

from storage.errors import StorageUnavailable
from web.errors import ApiError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_response(error: ApiError) -> web.Response:
    """The JSON answer of an error: ``{"error", "detail", "field"?}`` with its status."""
    return web.json_response(error.body(), status=error.status, headers=error.headers)


@web.middleware
async def json_errors_under_api(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The router's own 404 (no such path) and 405 (another method) under ``/api`` in the one
    shape too; aiohttp answers them as text."""
    try:
        return await handler(request)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed) as exc:
        if not (request.path == "/api" or request.path.startswith("/api/")):
            raise
        if isinstance(exc, web.HTTPMethodNotAllowed):
            allowed = ", ".join(sorted(exc.allowed_methods))
            return error_response(ApiError(
                f"{request.method} is not allowed on {request.path}; use {allowed}",
                code="method_not_allowed", headers={"Allow": allowed}))
        return error_response(ApiError(f"no route {request.path}", code="not_found"))


def verdict_response(status: int, code: str, detail: str, **headers: str) -> web.Response:
    """The same shape for the receiver's answers to webhook deliveries (``/hooks/{name}``),
    whose codes are the verdicts a webhook target gives (``signature_mismatch``,
    ``injected_fault`` with any status, ...: README "Receiver"), not :data:`web.errors.CODES`."""
    return web.json_response({"error": code, "detail": detail}, status=status, headers=headers)


def json_route(handler: Handler) -> Handler:
    """``ApiError`` becomes its JSON answer, and ``StorageUnavailable`` (locked, busy, server
    gone) a 503 ``storage_unavailable``: try again later, never a 500."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except ApiError as exc:
            return error_response(exc)
        except StorageUnavailable as exc:
            return error_response(ApiError(str(exc), code="storage_unavailable"))

    return wrapped
