"""The API client's credentials, its access tokens and the activity log.

Decisions:

- There is one API client (a singleton row). Its secret is stored as given, not hashed: the
  portal shows it on the credentials page (and will "reveal" it), and the server rewrites the
  credentials file from it. The database is therefore as sensitive as the credentials file.
- Access tokens are stored only as SHA-256 hex digests with their expiry; a database dump does
  not give anyone a usable token. Expired tokens are pruned whenever a new one is issued.
- Times are epoch seconds (REAL); callers pass them in, so the store has no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from storage.query import where
from storage.schema import Schema

if TYPE_CHECKING:
    from storage.backends import AnyDatabase

AUTH_SCHEMA = Schema("auth", (
    """
    CREATE TABLE auth_client (
        singleton          INTEGER PRIMARY KEY CHECK (singleton = 1),
        client_id          TEXT NOT NULL UNIQUE,
        client_name        TEXT NOT NULL,
        client_secret      TEXT NOT NULL,
        created_at         REAL NOT NULL,
        secret_rotated_at  REAL
    );
    CREATE TABLE auth_token (
        token_hash  TEXT PRIMARY KEY,
        client_id   TEXT NOT NULL REFERENCES auth_client (client_id),
        issued_at   REAL NOT NULL,
        expires_at  REAL NOT NULL
    );
    CREATE INDEX auth_token_expires_at ON auth_token (expires_at);
    CREATE TABLE auth_activity (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        kind        TEXT NOT NULL,
        at          REAL NOT NULL,
        client_id   TEXT NOT NULL,
        actor       TEXT NOT NULL,
        address     TEXT NOT NULL,
        detail      TEXT NOT NULL
    );
    CREATE INDEX auth_activity_at ON auth_activity (at);
    """,
), postgresql=(
    """
    CREATE TABLE auth_client (
        singleton          INTEGER PRIMARY KEY CHECK (singleton = 1),
        client_id          TEXT NOT NULL UNIQUE,
        client_name        TEXT NOT NULL,
        client_secret      TEXT NOT NULL,
        created_at         DOUBLE PRECISION NOT NULL,
        secret_rotated_at  DOUBLE PRECISION
    );
    CREATE TABLE auth_token (
        token_hash  TEXT PRIMARY KEY,
        client_id   TEXT NOT NULL REFERENCES auth_client (client_id),
        issued_at   DOUBLE PRECISION NOT NULL,
        expires_at  DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX auth_token_expires_at ON auth_token (expires_at);
    CREATE TABLE auth_activity (
        id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- never reused
        kind        TEXT NOT NULL,
        at          DOUBLE PRECISION NOT NULL,
        client_id   TEXT NOT NULL,
        actor       TEXT NOT NULL,
        address     TEXT NOT NULL,
        detail      TEXT NOT NULL
    );
    CREATE INDEX auth_activity_at ON auth_activity (at);
    """,
))

CLIENT_SECRET_ROTATED = "CLIENT_SECRET_ROTATED"


@dataclass(frozen=True)
class ApiClientRecord:
    client_id: str
    client_name: str
    client_secret: str = field(repr=False)  # never printed by accident
    created_at: float = 0.0
    secret_rotated_at: float | None = None


@dataclass(frozen=True)
class TokenRecord:
    client_id: str
    issued_at: float
    expires_at: float


@dataclass(frozen=True)
class Activity:
    kind: str
    at: float
    client_id: str
    actor: str
    address: str
    detail: str
    id: int = 0


_CLIENT_COLUMNS = "client_id, client_name, client_secret, created_at, secret_rotated_at"


def _client(row: Mapping[str, Any]) -> ApiClientRecord:
    return ApiClientRecord(row["client_id"], row["client_name"], row["client_secret"],
                           row["created_at"], row["secret_rotated_at"])


class CredentialStore:
    """Persistence for authentication; every method is one transaction or one read."""

    def __init__(self, db: AnyDatabase) -> None:
        self._db = db

    async def client(self) -> ApiClientRecord | None:
        async with self._db.read() as conn:
            async with conn.execute(f"SELECT {_CLIENT_COLUMNS} FROM auth_client") as cur:
                row = await cur.fetchone()
        return _client(row) if row else None

    async def ensure_client(self, candidate: ApiClientRecord) -> tuple[ApiClientRecord, bool]:
        """The stored client (its name updated to ``candidate``'s), or ``candidate`` stored now.

        Returns ``(client, created)``. Check and insert share one transaction, so two processes
        starting on one database cannot both create a client.
        """
        async with self._db.write() as conn:
            await conn.execute(
                f"INSERT INTO auth_client (singleton, {_CLIENT_COLUMNS}) VALUES (1, ?, ?, ?, ?, ?) "
                "ON CONFLICT (singleton) DO UPDATE SET client_name = excluded.client_name",
                (candidate.client_id, candidate.client_name, candidate.client_secret,
                 candidate.created_at, candidate.secret_rotated_at),
            )
            async with conn.execute(f"SELECT {_CLIENT_COLUMNS} FROM auth_client") as cur:
                stored = _client(await cur.fetchone())
        return stored, stored.client_id == candidate.client_id

    async def rotate_secret(self, new_secret: str, activity: Activity) -> ApiClientRecord:
        """Replace the client secret and record ``activity``, in one transaction."""
        async with self._db.write() as conn:
            await conn.execute(
                "UPDATE auth_client SET client_secret = ?, secret_rotated_at = ?",
                (new_secret, activity.at),
            )
            await conn.execute(
                "INSERT INTO auth_activity (kind, at, client_id, actor, address, detail) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (activity.kind, activity.at, activity.client_id, activity.actor, activity.address,
                 activity.detail),
            )
            async with conn.execute(f"SELECT {_CLIENT_COLUMNS} FROM auth_client") as cur:
                return _client(await cur.fetchone())

    async def issue_token(self, token_hash: str, token: TokenRecord) -> None:
        """Store a new token's hash, pruning tokens that expired before it was issued."""
        async with self._db.write() as conn:
            await conn.execute("DELETE FROM auth_token WHERE expires_at <= ?", (token.issued_at,))
            await conn.execute(
                "INSERT INTO auth_token (token_hash, client_id, issued_at, expires_at) "
                "VALUES (?, ?, ?, ?)",
                (token_hash, token.client_id, token.issued_at, token.expires_at),
            )

    async def revoke_token(self, token_hash: str) -> None:
        """Forget a token (logout); an unknown hash is no error."""
        async with self._db.write() as conn:
            await conn.execute("DELETE FROM auth_token WHERE token_hash = ?", (token_hash,))

    async def find_token(self, token_hash: str) -> TokenRecord | None:
        async with self._db.read() as conn, conn.execute(
            "SELECT client_id, issued_at, expires_at FROM auth_token WHERE token_hash = ?",
            (token_hash,),
        ) as cur:
            row = await cur.fetchone()
        return TokenRecord(row["client_id"], row["issued_at"], row["expires_at"]) if row else None

    async def activity(self, start: float | None = None, end: float | None = None,
                       limit: int = 100) -> list[Activity]:
        """Activity with ``start <= at < end`` (either bound optional), newest first."""
        # Only the bounds given: "? IS NULL" leaves PostgreSQL unable to type the parameter.
        conditions, params = where(("at >= ?", start), ("at < ?", end))
        async with self._db.read() as conn, conn.execute(
            "SELECT id, kind, at, client_id, actor, address, detail FROM auth_activity"
            f"{conditions} ORDER BY at DESC, id DESC LIMIT ?",
            (*params, limit),
        ) as cur:
            rows = await cur.fetchall()
        return [Activity(r["kind"], r["at"], r["client_id"], r["actor"], r["address"], r["detail"],
                         r["id"]) for r in rows]

