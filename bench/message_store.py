"""The receiver's message store with 1 000 000 messages: costs that must not grow with it.

Set-up (not measured): two cached databases written by bench/data.py, 1 000 000 distinct 1 KB
messages (the receiver-memory row's), and 1 000 000 arrivals of one event (400-byte bodies,
numbered 0 .. 999 999 as the receiver numbers duplicates). One row per fix of issue 18:

- storing an event already seen 1 000 000 times, against a new event in the same database and
  the same round (``MessageStore.add_many``, batches of 50, synchronous=FULL, core 0);
- ``GET /api/messages`` through ``hooksim receive`` (core 0; the client on core 1, one kept-alive
  connection): a page after a cursor at the oldest end of the list, a filter no message matches
  (category), a body text no message holds (``q``); each the median of 20 requests;
- retention: ``max_messages`` set 1 000 below what is stored, the time ``prune`` takes.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import time
import uuid
from dataclasses import replace
from pathlib import Path

from bench import data
from bench.harness import (CACHE, CLIENT_CPU, PYTHON, ROOT, Config, Row, free_port, hooksim_env,
                           median, pinned, wait_http, workdir)
from storage.query import encode_cursor

MESSAGES = 1_000_000
BATCH = 50
BATCHES = 20
REQUESTS = 20
SEEN_RATIO_MAX = 2.0
API_LIMIT_MS = 20.0
PRUNE_LIMIT_MS = 100.0


def _store_figures() -> dict[str, list[float]]:
    """Per-message time (ms) of batches of the event seen 1 000 000 times, and of new events."""
    from storage.messages import MessageStore, NewMessage
    from storage.sqlite import open_database

    db_path = data.bulk_messages(CACHE / "one-event-1m.db", MESSAGES, body_bytes=400,
                                 one_event=True)
    body, _ = data.event_body(0, 400)
    seen = NewMessage(
        endpoint="bench", received_at=time.time(), remote="127.0.0.1", method="POST",
        path="/hooks/bench", headers=(("Content-Type", "application/json"),), body=body,
        body_size=len(body), event_guid=str(uuid.UUID(int=10**15)), category="menus",
        event_type="menus_updated", restaurant_guid=None, verified=True, reason=None,
        detail=None, accepted=True, status=200, fault=None, forward_to=None)

    async def measure() -> dict[str, list[float]]:
        db = await open_database(db_path)
        store = MessageStore(db)
        figures: dict[str, list[float]] = {"seen_ms": [], "new_ms": [], "numbered": []}
        try:
            for n in range(BATCHES):
                started = time.perf_counter()
                stored = await store.add_many([seen] * BATCH)
                figures["seen_ms"].append((time.perf_counter() - started) * 1000 / BATCH)
                counts = [m.duplicate_count for m in stored]
                figures["numbered"].append(float(counts == list(range(counts[0],
                                                                      counts[0] + BATCH))))
                fresh = [replace(seen, event_guid=f"new-{time.time_ns()}-{n}-{i}")
                         for i in range(BATCH)]
                started = time.perf_counter()
                await store.add_many(fresh)
                figures["new_ms"].append((time.perf_counter() - started) * 1000 / BATCH)
        finally:
            await db.close()
        return figures

    return asyncio.run(measure())


def _prune_ms() -> tuple[float, int]:
    """Time to keep all but the oldest 1 000 of the 1 000 000-message database."""
    from storage.messages import MessageStore
    from storage.sqlite import open_database

    async def measure() -> tuple[float, int]:
        db = await open_database(data.bulk_messages(CACHE / "messages-1m.db", MESSAGES))
        store = MessageStore(db)
        try:
            keep = await store.stored() - 1_000
            started = time.perf_counter()
            deleted = await store.prune(max_messages=keep)
            return (time.perf_counter() - started) * 1000, deleted
        finally:
            await db.close()

    return asyncio.run(measure())


CLIENT = r"""
import json, sys
from bench.api_client import connect, report, timed
port, credentials, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
paths = json.loads(sys.argv[4])
conn = connect(port)
conn.request("POST", "/api/authentication/login", open(credentials).read(),
             {"Content-Type": "application/json"})
token = json.loads(conn.getresponse().read())["accessToken"]
headers = {"Authorization": "Bearer " + token}
out, last = {}, {}
for name, path in paths.items():
    def check(status, page):
        assert status == 200, (status, page)
        assert name != "deep" or len(page["messages"]) == 50, page
        last[name] = {"messages": len(page["messages"]), "more": page["nextCursor"] is not None}
    out[name] = timed(conn, "GET", path, headers, n, check)
report(out, last)
"""


def _api_figures(config: Config) -> list[dict[str, dict]]:
    db = data.bulk_messages(CACHE / "messages-1m.db", MESSAGES)
    with sqlite3.connect(db) as conn:   # the 51st oldest (retention rounds delete the oldest)
        at, ident = conn.execute("SELECT received_at, id FROM receiver_message "
                                 "ORDER BY received_at, id LIMIT 1 OFFSET 50").fetchone()
    deep = encode_cursor((at, ident))   # the API's own cursor format, not a copy of it
    paths = {"deep": f"/api/messages?limit=50&cursor={deep}",
             "filter": "/api/messages?limit=50&category=nothing-has-this",
             "text": "/api/messages?limit=50&q=no-body-holds-this"}
    rounds = []
    with workdir("message-store") as tmp:
        port = free_port()
        cmd = [str(Path(PYTHON).with_name("hooksim")), "receive", "--port", str(port),
               "--secret", data.SECRET, "--db", str(db)]
        with pinned(cmd, env=hooksim_env(tmp, db), cwd=tmp):
            wait_http(f"http://127.0.0.1:{port}/healthz")
            for _ in range(config.rounds):
                out = subprocess.run(
                    ["taskset", "-c", CLIENT_CPU, PYTHON, "-c", CLIENT, str(port),
                     str(tmp / "credentials.json"), str(REQUESTS), json.dumps(paths)],
                    check=True, capture_output=True, text=True, cwd=ROOT).stdout
                rounds.append(json.loads(out))
    return rounds


def run(config: Config) -> list[Row]:
    CACHE.mkdir(parents=True, exist_ok=True)
    store = _store_figures()
    seen, new = median(store["seen_ms"]), median(store["new_ms"])
    numbered = all(store["numbered"])
    api = _api_figures(config)
    prunes = [_prune_ms() for _ in range(config.rounds)]
    prune_ms = median([ms for ms, _ in prunes])

    def api_row(name: str, figure: str, check: str) -> Row:
        value = median([r[name]["median_ms"] for r in api])
        last = api[-1][name]
        worst = ", ".join(f"{r[name]['max_ms']:.1f}" for r in api)
        return Row(figure, f"{value:.1f} ms", "-", None, f"<= {API_LIMIT_MS:.0f} ms",
                   value <= API_LIMIT_MS,
                   note=(f"slowest single request per round (ms): {worst}; {check}: "
                         f"{last['messages']} messages, next cursor {last['more']}"),
                   rounds={"median_ms": [r[name]["median_ms"] for r in api],
                           "max_ms": [r[name]["max_ms"] for r in api]})

    return [
        Row(f"store an event seen {MESSAGES:,} times (per message, batches of {BATCH})",
            f"{seen:.3f} ms", f"{new:.3f} ms", seen / new, f"<= {SEEN_RATIO_MAX:.1f} x a new event",
            seen / new <= SEEN_RATIO_MAX and numbered,
            note=("the reference is a new event in the same database, same round; every batch "
                  "numbered on from the one before" if numbered else
                  "DUPLICATE NUMBERING BROKEN: a batch did not continue the count"),
            rounds=store),
        api_row("deep", f"a page after a cursor at the oldest of {MESSAGES:,} messages (API)",
                "the page"),
        api_row("filter", f"a filter no message matches, among {MESSAGES:,} (API)",
                "first page"),
        api_row("text", f"a body text no message holds, among {MESSAGES:,} (API)", "first page"),
        Row(f"retention: max_messages = stored - 1 000, of {MESSAGES:,}", f"{prune_ms:.0f} ms",
            "-", None, f"<= {PRUNE_LIMIT_MS:.0f} ms", prune_ms <= PRUNE_LIMIT_MS,
            note=f"deleted per round: {', '.join(str(d) for _, d in prunes)}",
            rounds={"prune_ms": [ms for ms, _ in prunes]}),
    ]
