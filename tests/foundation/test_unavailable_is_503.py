"""storage.web.unavailable_is_503: the one place a database that cannot answer right now becomes
a 503 for the receiver's inspect API and the dispatcher's admin API alike."""

from __future__ import annotations

from aiohttp import web

from storage import StorageError, StorageUnavailable
from storage.web import unavailable_is_503


async def test_unavailable_is_a_503_with_the_reason_and_anything_else_passes(aiohttp_client):
    async def locked(request: web.Request) -> web.Response:
        raise StorageUnavailable("database is locked")

    async def broken(request: web.Request) -> web.Response:
        raise StorageError("no such table")

    async def fine(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/locked", unavailable_is_503(locked))
    app.router.add_get("/broken", unavailable_is_503(broken))
    app.router.add_get("/fine", unavailable_is_503(fine))
    client = await aiohttp_client(app)

    resp = await client.get("/locked")
    assert resp.status == 503
    assert await resp.json() == {"error": "storage_unavailable", "detail": "database is locked"}
    assert (await client.get("/broken")).status == 500     # not the decorator's to hide
    assert await (await client.get("/fine")).json() == {"ok": True}
    assert unavailable_is_503(fine).__name__ == "fine"
