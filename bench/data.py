"""Measurement set-up: signed request bodies for wrk, and bulk-loaded databases.

The big databases (1 000 000 messages, 1 000 000 deliveries, 100 000 pending deliveries) are
written here with ``executemany`` straight into hooksim's own schema (created by hooksim's own
migrations), not through HTTP: that is set-up, not what is measured, and takes seconds instead of
minutes. They are cached under bench/results/cache and reused by later runs.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import sqlite3
import uuid
from pathlib import Path

import signing
from storage.sqlite import open_database

SECRET = "bench-secret-0123456789abcdef"
BODY_BYTES = 1024
LUA = Path(__file__).with_name("signed.lua")


def event_body(n: int, size: int = BODY_BYTES) -> tuple[bytes, str]:
    """A Toast-like envelope of exactly ``size`` bytes (padded in ``details``), and its timestamp."""
    timestamp = f"2026-01-01T00:{n // 60000 % 60:02d}:{n // 1000 % 60:02d}.{n % 1000:03d}Z"
    envelope = {"timestamp": timestamp, "eventCategory": "menus", "eventType": "menus_updated",
                "guid": str(uuid.UUID(int=n + 1)),
                "details": {"restaurantGuid": str(uuid.UUID(int=(n % 97) + 10**12)),
                            "publishedDate": timestamp, "pad": ""}}
    raw = json.dumps(envelope, separators=(",", ":"))
    envelope["details"]["pad"] = "x" * (size - len(raw))
    body = json.dumps(envelope, separators=(",", ":")).encode()
    assert len(body) == size
    return body, timestamp


def write_requests(path: Path, count: int, style: str) -> Path:
    """``count`` distinct signed bodies, one ``signature<TAB>body`` a line, for signed.lua.

    ``toast``: Toast-Signature, base64 HMAC-SHA256 over body + timestamp (what hooksim checks).
    ``hex``: hex HMAC-SHA256 over the body alone (what adnanh/webhook's payload-hmac-sha256 checks).
    """
    with path.open("w") as out:
        for n in range(count):
            body, timestamp = event_body(n)
            if style == "toast":
                signature = signing.sign(SECRET, body, timestamp)
            else:
                signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            out.write(f"{signature}\t{body.decode()}\n")
    return path


def webhook_hooks(path: Path, command: str = "/bin/true") -> Path:
    """adnanh/webhook's hooks file: one hook, triggered only by a valid HMAC of the body."""
    path.write_text(json.dumps([{
        "id": "bench",
        "execute-command": command,
        "response-message": "ok",
        "trigger-rule": {"match": {"type": "payload-hmac-sha256", "secret": SECRET,
                                   "parameter": {"source": "header",
                                                 "name": "Toast-Signature"}}},
    }], indent=2))
    return path


def create_schema(path: Path) -> None:
    """An empty database with every hooksim table, through hooksim's own migrations."""
    async def run() -> None:
        db = await open_database(path)
        await db.close()
    asyncio.run(run())


def _fast(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")   # set-up only; hooksim itself runs with FULL
    return conn


def bulk_messages(path: Path, count: int, *, body_bytes: int = BODY_BYTES,
                  one_event: bool = False) -> Path:
    """``path`` holding ``count`` accepted, verified receiver messages (cached): distinct events,
    or with ``one_event`` the same event ``count`` times, numbered 0 .. count-1 as the receiver
    numbers duplicates."""
    if path.exists():
        return path
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    create_schema(tmp)
    body, _ = event_body(0, body_bytes)
    headers = json.dumps([["Host", "127.0.0.1"], ["Content-Type", "application/json"],
                          ["Toast-Signature", "x" * 44]])
    conn = _fast(tmp)
    conn.execute("BEGIN")
    step = 50_000
    for start in range(0, count, step):
        conn.executemany(
            "INSERT INTO receiver_message (endpoint, received_at, remote, method, path, headers, "
            "body, body_size, event_guid, category, event_type, restaurant_guid, verified, "
            "reason, detail, accepted, status, fault, forward_to, duplicate_count) "
            "VALUES ('bench', ?, '127.0.0.1', 'POST', '/hooks/bench', ?, ?, ?, ?, 'menus', "
            "'menus_updated', NULL, 1, NULL, NULL, 1, 200, NULL, NULL, ?)",
            [(1.7e9 + n / 1000, headers, body, len(body),
              str(uuid.UUID(int=10**15 + (0 if one_event else n))), n if one_event else 0)
             for n in range(start, min(count, start + step))])
    # What the store keeps beside the messages (written by add_many, bypassed here).
    conn.execute("DELETE FROM receiver_message_count")
    conn.execute("INSERT INTO receiver_message_count (stripe, messages) VALUES (0, ?)", (count,))
    conn.execute("COMMIT")
    conn.close()
    tmp.rename(path)
    return path


def bulk_deliveries(path: Path, count: int, *, url: str, status: str, created_at: float,
                    body_bytes: int = 600, attempts: bool = False) -> tuple[Path, str]:
    """``path`` with one subscription (to ``url``) and ``count`` events, one delivery each, and
    with ``attempts`` one answered (200) attempt per delivery, started when it was made.

    Returns the path and the subscription's GUID. Not cached (the URL and times vary)."""
    path.unlink(missing_ok=True)
    create_schema(path)
    guid = str(uuid.UUID(int=7))
    conn = _fast(path)
    conn.execute("BEGIN")
    conn.execute(
        "INSERT INTO subscription (guid, name, event_category, url, notification_email, secret, "
        "status, paused_until, created_at, modified_at) "
        "VALUES (?, 'bench', 'menus', ?, 'bench@example.com', ?, 'ACTIVE', NULL, ?, ?)",
        (guid, url, SECRET, created_at, created_at))
    step = 50_000
    for start in range(0, count, step):
        rows = []
        for n in range(start, min(count, start + step)):
            body, timestamp = event_body(n, body_bytes)
            rows.append((str(uuid.UUID(int=10**15 + n)), timestamp, body,
                         created_at + n / 1000, base64.b64encode(
                             hmac.new(SECRET.encode(), body + timestamp.encode(),
                                      hashlib.sha256).digest()).decode()))
        conn.executemany(
            "INSERT INTO event (guid, category, event_type, restaurant_guid, timestamp, body, "
            "created_at) VALUES (?, 'menus', 'menus_updated', NULL, ?, ?, ?)",
            [(g, ts, body, at) for g, ts, body, at, _ in rows])
        conn.executemany(
            "INSERT INTO delivery (webhook_guid, subscription_guid, event_guid, status, "
            "next_attempt_at, route_key, signature, created_at, updated_at) "
            f"VALUES (?, '{guid}', ?, '{status}', ?, 'menus', ?, ?, ?)",
            [(str(uuid.UUID(int=2 * 10**15 + start + i)), g,
              at if status == "PENDING" else None, sig, at, at)
             for i, (g, _, _, at, sig) in enumerate(rows)])
        if attempts:   # delivery ids are 1..count, in insertion order
            conn.executemany(
                "INSERT INTO attempt (delivery_id, series, number, started_at, outcome, "
                "status_code, latency_ms, detail, response_excerpt) "
                "VALUES (?, 1, 1, ?, 'http', 200, 2.0, '', '')",
                [(start + i + 1, at) for i, (_, _, _, at, _) in enumerate(rows)])
    conn.execute("COMMIT")
    conn.close()
    return path, guid
