"""Every SQL difference between the two backends, in one object per backend.

Stores write portable SQL (``?`` placeholders, ``ON CONFLICT``, row values) and ask their
database's :class:`Dialect` (``db.dialect``) for the few fragments that differ; nothing outside
this module compares a backend's name. A third backend is a third :class:`Dialect` here, a
database class beside :mod:`storage.sqlite` and :mod:`storage.postgres` (with its own error
translation), a branch in :func:`storage.backends.open_storage`, and its migration scripts in
each component's :class:`~storage.schema.Schema`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Dialect:
    name: str
    #: Several processes write at once and rows are locked (PostgreSQL); with one writer at a
    #: time (SQLite) a transaction locks nothing row by row, and one dispatcher owns the
    #: database (so its leases can be released at start-up).
    row_locks: bool
    #: Lock rows a batch may change, after a SELECT (``NO KEY``: inserting rows that reference
    #: them goes on meanwhile).
    for_change: str
    #: When a pending delivery is next due: its next attempt, or its lease's end if later.
    due_or_leased: str
    #: The whole minute (since the epoch) of ``a.started_at``, rounded down.
    attempt_minute: str
    #: The restaurant GUID of a partner event's ``body`` (NULL if the body is not such JSON).
    event_restaurant: str
    #: ``(clause, pattern of text)``: the body contains the text, ASCII-case-insensitively, up
    #: to its first NUL; the clause has one ``?`` for the LIKE pattern made from the text.
    body_contains: tuple[str, Callable[[str], str]]
    #: A statement taking a transaction lock per text key (params: a lock space, the keys), in
    #: hash order so two transactions never lock crosswise; None with one writer at a time.
    key_locks: str | None

    def body_text(self, *path: str) -> str:
        """The text at ``path`` in an event's JSON ``body`` (NULL if absent), e.g.
        ``body_text("details", "order", "guid")``; bodies are the platform's own JSON."""
        if self.name == "sqlite":
            return f"json_extract(CAST(body AS TEXT), '$.{'.'.join(path)}')"
        return f"(convert_from(body, 'UTF8')::jsonb #>> '{{{','.join(path)}}}')"

    def skip_locked(self, of: str | None = None) -> str:
        """The clause that lets concurrent claimers pass over each other's rows: ``FOR UPDATE
        [OF alias] SKIP LOCKED``; nothing with one writer, which serialises claims anyway."""
        if not self.row_locks:
            return ""
        return f" FOR UPDATE{f' OF {of}' if of else ''} SKIP LOCKED"


# Body text search. SQLite's LIKE folds ASCII case; PostgreSQL's text must be valid in the
# server encoding, so the body (up to its first NUL) is read as LATIN1 (every byte a character,
# non-ASCII letters too); the pattern is lowered and turned into such characters the same way.
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ASCII_LOWER = str.maketrans(_UPPER, _UPPER.lower())
_PG_BODY_TEXT = ("convert_from(substring(body FROM 1 FOR coalesce(nullif(position('\\x00'::bytea "
                 "IN body), 0) - 1, length(body))), 'LATIN1')")


def _pg_pattern(text: str) -> str:
    return text.translate(_ASCII_LOWER).encode("utf-8", "surrogatepass").decode("latin-1")


SQLITE = Dialect(
    name="sqlite",
    row_locks=False,
    for_change="",
    # SQLite's two-argument max() is NULL if either is.
    due_or_leased="coalesce(max(next_attempt_at, claimed_until), next_attempt_at)",
    # CAST truncates (the same as floor after 1970); floor() needs SQLite's math functions.
    attempt_minute="CAST(a.started_at / 60 AS INTEGER)",
    event_restaurant="json_extract(CAST(body AS TEXT), '$.details.restaurantGuid')",
    body_contains=("CAST(body AS TEXT) LIKE ? ESCAPE '\\'", str),
    key_locks=None,
)

POSTGRESQL = Dialect(
    name="postgresql",
    row_locks=True,
    for_change=" FOR NO KEY UPDATE",
    due_or_leased="greatest(next_attempt_at, claimed_until)",   # greatest() ignores NULLs
    attempt_minute="floor(a.started_at / 60)",   # a CAST would round
    # A function of the dispatcher's migration that answers NULL for a body that is not JSON.
    event_restaurant="event_restaurant_guid(body)",
    body_contains=(f"translate({_PG_BODY_TEXT}, '{_UPPER}', '{_UPPER.lower()}') LIKE ? "
                   "ESCAPE '\\'", _pg_pattern),
    # Two-key advisory locks, in a space of their own (the migration lock is a one-key lock).
    key_locks=("SELECT pg_advisory_xact_lock(?, h) FROM (SELECT DISTINCT hashtext(k) AS h "
               "FROM unnest(?::text[]) AS k ORDER BY h) AS keys"),
)
