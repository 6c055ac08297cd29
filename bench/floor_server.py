"""The floor: the least a durable, verifying receiver can do per request in aiohttp + SQLite.

``python -m bench.floor_server --port P --db PATH --secret S``

It reads the body, checks Toast-Signature with ``signing.verify``, parses the envelope with
orjson, and inserts the same row into the same table with hooksim's own statements
(``storage.messages.insert_rows``), many requests per transaction (group commit,
synchronous=FULL, on a thread), answering 200 only after the commit. No endpoints, faults,
logging, live stream, forwarding, auth or middlewares. hooksim cannot beat it; the bench shows
how close it comes, and what share of bare aiohttp's rate durable storage itself leaves.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import time

import orjson
from aiohttp import web

import signing
from storage.messages import RECEIVER_SCHEMA, headers_json, insert_rows

Pending = list[tuple[tuple, "asyncio.Future[tuple[int, int]]"]]


def _open(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.executescript(RECEIVER_SCHEMA.migrations[0])
    return conn


def _insert(conn: sqlite3.Connection, batch: Pending) -> list[tuple[int, int]]:
    conn.execute("BEGIN IMMEDIATE")
    rows = insert_rows(conn, [values for values, _ in batch], one_writer=True)
    conn.execute("COMMIT")
    return rows


def build(conn: sqlite3.Connection, secret: str) -> web.Application:
    pending: Pending = []
    wake = asyncio.Event()

    async def committer() -> None:
        nonlocal pending
        loop = asyncio.get_running_loop()
        while True:
            await wake.wait()
            wake.clear()
            batch, pending = pending, []
            for (_, future), row in zip(batch, await loop.run_in_executor(None, _insert, conn,
                                                                            batch)):
                future.set_result(row)

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        envelope = orjson.loads(body)
        try:
            signing.verify((secret,), body, request.headers.get("Toast-Signature"),
                           envelope["timestamp"])
        except signing.SignatureError as exc:
            return web.Response(status=401, text=exc.reason)
        future = asyncio.get_running_loop().create_future()
        # In storage.messages' column order: the arrival fields, headers and body, then endpoint
        # and event guid again for the duplicate count.
        name, guid = request.match_info["name"], envelope["guid"]
        pending.append(((name, time.time(), request.remote, request.method, request.raw_path,
                         len(body), guid, envelope["eventCategory"], envelope["eventType"], None,
                         1, None, None, 1, 200, None, None,
                         headers_json(tuple(request.headers.items())), body, name, guid), future))
        wake.set()
        row_id, duplicates = await future
        return web.Response(body=orjson.dumps({"stored": True, "id": row_id,
                                               "duplicate": duplicates > 0,
                                               "duplicateCount": duplicates}),
                            content_type="application/json")

    async def run_committer(app: web.Application):   # cleanup_ctx: started and stopped with it
        task = asyncio.create_task(committer())
        yield
        task.cancel()

    app = web.Application()
    app.cleanup_ctx.append(run_committer)
    app.router.add_post("/hooks/{name}", handle)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    args = parser.parse_args()
    loop = None
    if args.loop == "uvloop":
        import uvloop
        loop = uvloop.new_event_loop()
    web.run_app(build(_open(args.db), args.secret), host="127.0.0.1", port=args.port,
                access_log=None, print=None, loop=loop)


if __name__ == "__main__":
    main()
