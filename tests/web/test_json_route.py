"""web.routes.json_route: the one place an ApiError becomes its JSON answer and a database that
cannot answer right now a 503, for the receiver's inspect API, the admin API and the portal's."""

from __future__ import annotations

from aiohttp import web

from storage import StorageError, StorageUnavailable
from web.errors import CODES, ApiError, InvalidInput
from web.routes import json_route


async def test_unavailable_is_a_503_with_the_reason_and_anything_else_passes(aiohttp_client):
    async def locked(request: web.Request) -> web.Response:
        raise StorageUnavailable("database is locked")

    async def broken(request: web.Request) -> web.Response:
        raise StorageError("no such table")

    async def fine(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/locked", json_route(locked))
    app.router.add_get("/broken", json_route(broken))
    app.router.add_get("/fine", json_route(fine))
    client = await aiohttp_client(app)

    resp = await client.get("/locked")
    assert resp.status == 503
    assert await resp.json() == {"error": "storage_unavailable", "detail": "database is locked"}
    assert (await client.get("/broken")).status == 500     # not the decorator's to hide
    assert await (await client.get("/fine")).json() == {"ok": True}
    assert json_route(fine).__name__ == "fine"


async def test_an_api_error_is_its_code_status_field_and_headers(aiohttp_client):
    async def refused(request: web.Request) -> web.Response:
        raise InvalidInput("limit must be an integer 1-5, got 'x'", "limit")

    async def limited(request: web.Request) -> web.Response:
        raise ApiError("wait", code="too_many_attempts", headers={"Retry-After": "3"})

    app = web.Application()
    app.router.add_get("/refused", json_route(refused))
    app.router.add_get("/limited", json_route(limited))
    client = await aiohttp_client(app)
    resp = await client.get("/refused")
    assert resp.status == 400 and await resp.json() == {
        "error": "invalid_input", "detail": "limit must be an integer 1-5, got 'x'", "field": "limit"}
    resp = await client.get("/limited")
    assert (resp.status, resp.headers["Retry-After"]) == (429, "3")
    assert await resp.json() == {"error": "too_many_attempts", "detail": "wait"}
    assert CODES["too_many_attempts"] == 429
