"""The receiver's messages: every request to /hooks/{name}, raw body included, and its outcome.

Written in batches (group commit: one transaction per batch), listed newest first with keyset
pagination on (received_at, id), pruned by count and age. Bodies are BLOBs, never decoded.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, fields, replace
from operator import attrgetter
from typing import Any, Literal

import aiosqlite
import orjson

from storage.errors import NotFound
from storage.schema import Schema
from storage.sqlite import Database

RECEIVER_SCHEMA = Schema("receiver", ("""
CREATE TABLE receiver_message (
    id              INTEGER PRIMARY KEY,
    endpoint        TEXT NOT NULL,
    received_at     REAL NOT NULL,      -- epoch seconds
    remote          TEXT,
    method          TEXT NOT NULL,
    path            TEXT NOT NULL,
    headers         TEXT NOT NULL,      -- JSON [[name, value], ...] in arrival order
    body            BLOB NOT NULL,      -- exactly the bytes received
    body_size       INTEGER NOT NULL,   -- bytes received, or the declared size if not read (413)
    event_guid      TEXT,
    category        TEXT,
    event_type      TEXT,
    restaurant_guid TEXT,
    verified        INTEGER,            -- 1 valid, 0 rejected, NULL nothing to check against
    reason          TEXT,
    detail          TEXT,
    accepted        INTEGER NOT NULL,   -- passed every check (a fault may still have answered)
    status          INTEGER,            -- status answered; NULL for a hang or a closed connection
    fault           TEXT,               -- the injected response, if any
    duplicate_count INTEGER NOT NULL,   -- earlier accepted arrivals of this event on this endpoint
    forward_to      TEXT,
    forward_status  INTEGER,
    forward_error   TEXT,
    forwarded_at    REAL
);
CREATE INDEX receiver_message_newest ON receiver_message (received_at DESC, id DESC);
CREATE INDEX receiver_message_endpoint_newest
    ON receiver_message (endpoint, received_at DESC, id DESC);
CREATE INDEX receiver_message_event
    ON receiver_message (endpoint, event_guid) WHERE event_guid IS NOT NULL;
""",))

Verified = Literal["yes", "no", "unchecked"]


@dataclass(frozen=True)
class _Arrival:
    """What every message record has: the request as the receiver saw it, and its outcome."""

    endpoint: str
    received_at: float
    remote: str | None
    method: str
    path: str
    body_size: int
    event_guid: str | None
    category: str | None
    event_type: str | None
    restaurant_guid: str | None
    verified: bool | None
    reason: str | None
    detail: str | None
    accepted: bool
    status: int | None
    fault: str | None
    forward_to: str | None


@dataclass(frozen=True)
class NewMessage(_Arrival):
    """A request as the receiver saw it, before it is stored."""

    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True)
class MessageSummary(_Arrival):
    """A stored message without its headers and body (what lists and the live stream show)."""

    id: int
    duplicate_count: int
    forward_status: int | None
    forward_error: str | None
    forwarded_at: float | None

    @property
    def duplicate(self) -> bool:
        return self.duplicate_count > 0


@dataclass(frozen=True)
class ReceivedMessage(MessageSummary):
    """A stored message in full."""

    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True)
class ForwardResult:
    status: int | None
    error: str | None
    at: float


@dataclass(frozen=True)
class Cursor:
    """Position after the last message of a page: the next page is strictly older."""

    received_at: float
    id: int


@dataclass(frozen=True)
class MessageQuery:
    endpoint: str | None = None
    category: str | None = None
    event_type: str | None = None
    verified: Verified | None = None
    duplicate: bool | None = None
    since: float | None = None  # received_at >= since
    until: float | None = None  # received_at < until
    text: str | None = None  # substring of the body (ASCII case-insensitive)
    limit: int = 50
    cursor: Cursor | None = None


@dataclass(frozen=True)
class Page:
    messages: tuple[MessageSummary, ...]
    next_cursor: Cursor | None


# Column order of the INSERT's first parameters: the arrival fields, then headers and body.
_ARRIVAL_FIELDS = tuple(f.name for f in fields(_Arrival))


def headers_json(headers: tuple[tuple[str, str], ...]) -> str:
    """Headers as stored: JSON ``[[name, value], ...]``."""
    try:
        return orjson.dumps(headers).decode()
    except orjson.JSONEncodeError:   # lone surrogates from undecodable bytes: json escapes them
        return json.dumps([list(pair) for pair in headers])


def _insert_params(message: NewMessage) -> tuple[Any, ...]:
    arrival = attrgetter(*_ARRIVAL_FIELDS)(message)
    return (*arrival, headers_json(message.headers), message.body)


_SUMMARY_COLUMNS = ", ".join(f.name for f in fields(MessageSummary))
_FULL_COLUMNS = _SUMMARY_COLUMNS + ", headers, body"
# Numbered parameters (1-based) the duplicate count reuses.
_ENDPOINT, _GUID = _ARRIVAL_FIELDS.index("endpoint") + 1, _ARRIVAL_FIELDS.index("event_guid") + 1
_INSERT = f"""
INSERT INTO receiver_message ({", ".join(_ARRIVAL_FIELDS)}, headers, body, duplicate_count)
VALUES ({", ".join("?" * (len(_ARRIVAL_FIELDS) + 2))},
    CASE WHEN ?{_GUID} IS NULL THEN 0 ELSE (
        SELECT count(*) FROM receiver_message
        WHERE endpoint = ?{_ENDPOINT} AND event_guid = ?{_GUID} AND accepted = 1) END)
RETURNING id, duplicate_count
"""


class MessageStore:
    """The receiver's messages in ``db``. Every method is one transaction or one read."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add_many(self, messages: Sequence[NewMessage]) -> list[ReceivedMessage]:
        """Store ``messages`` in one transaction, in order; duplicates count earlier ones in the
        same batch too, because each insert sees the rows before it."""
        params = [_insert_params(message) for message in messages]

        def insert_all(conn: sqlite3.Connection) -> list[tuple[int, int]]:
            # The whole batch in one trip to the database thread (one per statement was the
            # receiver's bottleneck under load); the statement is prepared once and cached.
            return [conn.execute(_INSERT, values).fetchone()[:2] for values in params]

        rows = await self._db.write_batch(insert_all)
        # Positional, in field order (_Arrival, then MessageSummary's, then headers and body):
        # a keyword dict per message was a measurable share of the receiver's time per request.
        return [ReceivedMessage(*values[:-2], row_id, duplicates, None, None, None,
                                message.headers, message.body)
                for message, values, (row_id, duplicates) in zip(messages, params, rows,
                                                                   strict=True)]

    async def get(self, message_id: int) -> ReceivedMessage:
        async with self._db.read() as conn:
            async with conn.execute(
                f"SELECT {_FULL_COLUMNS} FROM receiver_message WHERE id = ?", (message_id,)
            ) as cur:
                row = await cur.fetchone()
        if row is None:
            raise NotFound(f"no message {message_id}")
        return _full(row)

    async def find(self, query: MessageQuery) -> Page:
        """One page, newest first; ``next_cursor`` is None on the last page."""
        rows = await self._select(_SUMMARY_COLUMNS, query, query.limit + 1)
        messages = tuple(_summary(row) for row in rows[: query.limit])
        more = len(rows) > query.limit
        last = messages[-1] if messages and more else None
        return Page(messages, Cursor(last.received_at, last.id) if last else None)

    async def export(self, query: MessageQuery, batch: int = 200) -> AsyncIterator[ReceivedMessage]:
        """Every matching message with headers and body, newest first, read a batch at a time."""
        cursor = query.cursor
        while True:
            rows = await self._select(_FULL_COLUMNS, replace(query, cursor=cursor), batch)
            for row in rows:
                yield _full(row)
            if len(rows) < batch:
                return
            cursor = Cursor(rows[-1]["received_at"], rows[-1]["id"])

    async def delete(self, endpoint: str | None = None) -> int:
        """Delete the messages of ``endpoint`` (all if None); returns how many."""
        async with self._db.write() as conn:
            if endpoint is None:
                cur = await conn.execute("DELETE FROM receiver_message")
            else:
                cur = await conn.execute("DELETE FROM receiver_message WHERE endpoint = ?",
                                         (endpoint,))
            return cur.rowcount

    async def set_forward_result(self, message_id: int, result: ForwardResult) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                "UPDATE receiver_message SET forward_status = ?, forward_error = ?, "
                "forwarded_at = ? WHERE id = ?",
                (result.status, result.error, result.at, message_id))

    async def prune(self, max_messages: int = 0, older_than: float | None = None) -> int:
        """Delete beyond the newest ``max_messages`` (0: no limit) and anything received before
        ``older_than`` (epoch seconds); returns how many were deleted."""
        deleted = 0
        async with self._db.write() as conn:
            if older_than is not None:
                cur = await conn.execute("DELETE FROM receiver_message WHERE received_at < ?",
                                         (older_than,))
                deleted += cur.rowcount
            if max_messages > 0:
                cur = await conn.execute(
                    "DELETE FROM receiver_message WHERE id IN (SELECT id FROM receiver_message "
                    "ORDER BY received_at DESC, id DESC LIMIT -1 OFFSET ?)", (max_messages,))
                deleted += cur.rowcount
        return deleted

    async def _select(self, columns: str, query: MessageQuery, limit: int) -> list[aiosqlite.Row]:
        where, params = _where(query)
        sql = (f"SELECT {columns} FROM receiver_message {where} "
               "ORDER BY received_at DESC, id DESC LIMIT ?")
        async with self._db.read() as conn:
            async with conn.execute(sql, (*params, limit)) as cur:
                return list(await cur.fetchall())


def _where(query: MessageQuery) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in (("endpoint", query.endpoint), ("category", query.category),
                          ("event_type", query.event_type)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if query.verified is not None:
        clauses.append({"yes": "verified = 1", "no": "verified = 0",
                        "unchecked": "verified IS NULL"}[query.verified])
    if query.duplicate is not None:
        clauses.append("duplicate_count > 0" if query.duplicate else "duplicate_count = 0")
    if query.since is not None:
        clauses.append("received_at >= ?")
        params.append(query.since)
    if query.until is not None:
        clauses.append("received_at < ?")
        params.append(query.until)
    if query.text:
        escaped = query.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        clauses.append("CAST(body AS TEXT) LIKE ? ESCAPE '\\'")
        params.append(f"%{escaped}%")
    if query.cursor is not None:
        clauses.append("(received_at < ? OR (received_at = ? AND id < ?))")
        params += [query.cursor.received_at, query.cursor.received_at, query.cursor.id]
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def _summary_values(row: aiosqlite.Row) -> dict[str, Any]:
    values = {f.name: row[f.name] for f in fields(MessageSummary)}
    values["accepted"] = bool(values["accepted"])
    if values["verified"] is not None:
        values["verified"] = bool(values["verified"])
    return values


def _summary(row: aiosqlite.Row) -> MessageSummary:
    return MessageSummary(**_summary_values(row))


def _full(row: aiosqlite.Row) -> ReceivedMessage:
    headers = tuple((name, value) for name, value in json.loads(row["headers"]))
    return ReceivedMessage(**_summary_values(row), headers=headers, body=bytes(row["body"]))
