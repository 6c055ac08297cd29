"""Access to ``/api``: client-credentials login, bearer tokens, rotation and the activity log.

- ``POST /api/authentication/login`` ``{clientId, clientSecret}`` -> ``{accessToken, expiresAt}``.
- Every other path under ``/api`` needs ``Authorization: Bearer <accessToken>`` (401 otherwise).
  Paths outside ``/api`` (``/hooks/*``, ``/healthz``, the pages) are not guarded here.
- ``GET /api/credentials``, ``POST /api/credentials/rotate`` ``{"confirm": "ROTATE SECRET"}``,
  ``GET /api/activity?from=&to=``.

The client is created on first start and its id and secret written to the credentials file
(owner-only, see :mod:`hooksim.credentials_file`). Rotation replaces the secret at once; tokens
issued before keep working until they expire. Only failed logins count towards the per-address
limit, so scripts that run many CLI commands (one login each) are not throttled.
Errors are JSON ``{"error": "<code>", "detail": "<what to do>"}``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import math
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web import RequestPayloadError

import signing
from dispatcher.clock import iso  # one time format across the whole API
from hooksim.credentials_file import (  # noqa: F401 - ROTATE_CONFIRMATION: tests import it here
    ROTATE_CONFIRMATION,
    CredentialsFileError,
    FileCredentials,
    read_credentials,
    restrict_to_owner,
    write_credentials,
)
from hooksim.settings import AuthSettings
from storage.credentials import (
    CLIENT_SECRET_ROTATED,
    Activity,
    ApiClientRecord,
    CredentialStore,
    TokenRecord,
)
from storage.web import DATABASE

log = structlog.get_logger("hooksim.auth")

LOGIN_PATH = "/api/authentication/login"
ACTIVITY_LIMIT_MAX = 1000

CREDENTIALS_PATH = web.AppKey("credentials_path", Path)
CREDENTIAL_STORE = web.AppKey("credential_store", CredentialStore)
#: The portal's session: the cookie holding an access token, and the CSRF header cookie-authorized
#: state-changing requests must carry (see :func:`csrf_token`).
SESSION_COOKIE = "hooksim_session"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: The client id behind the request's bearer token, set by the middleware.
CLIENT_ID = web.RequestKey("client_id", str)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def api_error(cls: type[web.HTTPException], error: str, detail: str,
              headers: dict[str, str] | None = None) -> web.HTTPException:
    """An HTTP error with the project's JSON body, ready to raise."""
    return cls(text=json.dumps({"error": error, "detail": detail}),
               content_type="application/json", headers=headers)


def sha256(text: str) -> bytes:
    # surrogatepass: lone surrogates (from JSON escapes or undecodable header bytes) hash, not 500
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def token_digest(token: str) -> str:
    return sha256(token).hex()


def is_guarded(path: str) -> bool:
    """Whether a request path needs a bearer token."""
    return (path == "/api" or path.startswith("/api/")) and path != LOGIN_PATH


def setup_auth(app: web.Application, settings: AuthSettings, *,
               clock: Callable[[], float] = time.time) -> None:
    """Add login, the token guard, credentials and activity routes. Call after setup_database."""
    access = _Access(settings, clock, Path(settings.credentials_file).expanduser().absolute())
    app[CREDENTIALS_PATH] = access.path
    app[ACCESS] = access

    @web.middleware
    async def require_token(request: web.Request, handler: Handler) -> web.StreamResponse:
        if is_guarded(request.path):
            request[CLIENT_ID] = await access.authenticate(request)
        return await handler(request)

    app.cleanup_ctx.append(access.startup)
    app.middlewares.append(require_token)
    app.router.add_post(LOGIN_PATH, access.login)
    app.router.add_get("/api/credentials", access.show_credentials)
    app.router.add_post("/api/credentials/rotate", access.rotate)
    app.router.add_get("/api/activity", access.activity)


def csrf_token(session_token: str) -> str:
    """The CSRF token of a session: derived from its token, so no state is kept. A page served to
    the session embeds it; another site can read neither the HttpOnly cookie nor the page."""
    return sha256("csrf:" + session_token).hex()


class LoginLimiter:
    """Failed logins per client address in a sliding window; full windows refuse every login."""

    _SWEEP_AT = 10_000  # addresses tracked before idle ones are forgotten

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, address: str, now: float) -> int:
        """0 if ``address`` may try now, else whole seconds until it may."""
        failures = self._failures.get(address)
        if failures is None:
            return 0
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[address]
            return 0
        if len(failures) < self.limit:
            return 0
        return max(1, math.ceil(failures[0] + self.window - now))

    def record_failure(self, address: str, now: float) -> None:
        if len(self._failures) >= self._SWEEP_AT:
            for idle in [a for a, f in self._failures.items() if f[-1] <= now - self.window]:
                del self._failures[idle]
        self._failures.setdefault(address, deque()).append(now)


class _Access:
    """State shared by the guard and the routes; the store is attached at start-up."""

    def __init__(self, settings: AuthSettings, clock: Callable[[], float], path: Path) -> None:
        self.settings = settings
        self.clock = clock
        self.path = path
        self.limiter = LoginLimiter(settings.login_attempts_per_minute)
        self.rotation = asyncio.Lock()  # one rotation (database + file) at a time
        self._store: CredentialStore | None = None

    @property
    def store(self) -> CredentialStore:
        if self._store is None:
            raise RuntimeError("setup_auth's start-up has not run")  # pragma: no cover
        return self._store

    async def startup(self, app: web.Application) -> AsyncIterator[None]:
        self._store = app[CREDENTIAL_STORE] = CredentialStore(app[DATABASE])
        candidate = ApiClientRecord(secrets.token_hex(16), self.settings.client_name,
                                    signing.new_secret(), self.clock())
        client, created = await self.store.ensure_client(candidate)
        if created:
            log.info("auth.credentials_created", client_id=client.client_id, path=str(self.path))
        self._sync_file(client)
        yield

    def _sync_file(self, client: ApiClientRecord) -> None:
        """Write the credentials file unless it already holds this client's current secret."""
        try:
            current = read_credentials(self.path)
        except FileNotFoundError:
            current = None
        if current is not None and (current.client_id, current.client_secret) == (
                client.client_id, client.client_secret):
            if restrict_to_owner(self.path):
                log.warning("auth.credentials_file_permissions_fixed", path=str(self.path))
            return
        self._write_file(client)
        log.info("auth.credentials_file_written", path=str(self.path),
                 reason="missing" if current is None else "outdated")

    def _write_file(self, client: ApiClientRecord) -> None:
        write_credentials(self.path, FileCredentials(client.client_id, client.client_secret,
                                                     client.client_name))

    async def authenticate(self, request: web.Request) -> str:
        """The client id of a valid bearer token, else raise 401."""
        header = request.headers.get("Authorization")
        if header is None and SESSION_COOKIE in request.cookies:
            return await self._authenticate_session(request)
        if header is None:
            raise _unauthorized("missing_token", "this route needs Authorization: Bearer "
                                f"<accessToken>; get a token from POST {LOGIN_PATH}")
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or " " in token:
            raise _unauthorized("malformed_authorization",
                                "the Authorization header must be 'Bearer <accessToken>'")
        record = await self.store.find_token(token_digest(token))
        if record is None:
            raise _unauthorized("invalid_token",
                                f"unknown access token; log in again at {LOGIN_PATH}")
        if record.expires_at <= self.clock():
            raise _unauthorized("token_expired", f"the access token expired at "
                                f"{iso(record.expires_at)}; log in again at {LOGIN_PATH}")
        return record.client_id

    async def _authenticate_session(self, request: web.Request) -> str:
        """A portal request: the cookie's token, plus the CSRF header unless the method is safe
        (a cookie is sent by the browser on its own; a bearer header never is)."""
        token = request.cookies[SESSION_COOKIE]
        client_id = await self.session_client(token)
        if client_id is None:
            raise _unauthorized("invalid_token", "the session expired; log in again at /login")
        if request.method not in _SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(sha256(sent), sha256(csrf_token(token))):
                raise api_error(web.HTTPForbidden, "csrf_token_invalid",
                                f"requests authorized by the session cookie must send the "
                                f"page's {CSRF_HEADER} header")
        return client_id

    async def session_client(self, token: str) -> str | None:
        """The client id of a valid, unexpired token, else None (for the portal's pages)."""
        record = await self.store.find_token(token_digest(token))
        if record is None or record.expires_at <= self.clock():
            return None
        return record.client_id

    async def revoke(self, token: str) -> None:
        """End a session: the token stops working at once, as a cookie and as a bearer."""
        await self.store.revoke_token(token_digest(token))

    async def login(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        client_id, client_secret = (string_field(body, key) for key in ("clientId", "clientSecret"))
        token, now, ttl = await self.issue_token(request, client_id, client_secret)
        return web.json_response({"accessToken": token, "tokenType": "Bearer",
                                  "expiresIn": ttl, "expiresAt": iso(now + ttl)})

    async def issue_token(self, request: web.Request, client_id: str,
                          client_secret: str) -> tuple[str, float, int]:
        """The login check shared by the API and the portal: (token, issued at, ttl) or raise
        429/401 as the API does."""
        client = await self.store.client()
        # No await from the limit check to recording a failure, so parallel guesses cannot all
        # slip through before the first one is counted.
        address = request.remote or "unknown"
        now = self.clock()
        wait = self.limiter.retry_after(address, now)
        if wait:
            log.warning("auth.login_rate_limited", address=address, retry_after=wait)
            raise api_error(web.HTTPTooManyRequests, "too_many_attempts",
                            f"too many failed logins from {address}; try again in {wait} s",
                            headers={"Retry-After": str(wait)})
        if client is None or not _credentials_match(client, client_id, client_secret):
            self.limiter.record_failure(address, now)
            log.warning("auth.login_failed", address=address)
            raise api_error(web.HTTPUnauthorized, "invalid_credentials",
                            "clientId or clientSecret is wrong; the credentials file written by "
                            "`hooksim serve` holds the current ones")
        token = secrets.token_urlsafe(32)
        ttl = self.settings.token_ttl_seconds
        await self.store.issue_token(token_digest(token),
                                     TokenRecord(client.client_id, now, now + ttl))
        log.info("auth.login_succeeded", client_id=client.client_id, address=address)
        return token, now, ttl

    async def show_credentials(self, request: web.Request) -> web.Response:
        client = await self.store.client()
        if client is None:  # pragma: no cover - start-up always creates it
            raise api_error(web.HTTPNotFound, "not_found", "no API client yet")
        return web.json_response(_client_json(client))

    async def rotate(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        if body.get("confirm") != ROTATE_CONFIRMATION:
            raise api_error(web.HTTPBadRequest, "confirmation_required",
                            f"confirm: type exactly {ROTATE_CONFIRMATION!r} to rotate the client "
                            "secret (the current secret stops working at once)")
        address = request.remote or "unknown"
        async with self.rotation:
            now = self.clock()
            actor = request[CLIENT_ID]
            client = await self.store.rotate_secret(signing.new_secret(), Activity(
                kind=CLIENT_SECRET_ROTATED, at=now, client_id=actor, actor=actor, address=address,
                detail="client secret rotated: the old secret can no longer log in; tokens "
                "issued before keep working until they expire"))
            written = True
            try:
                self._write_file(client)
            except CredentialsFileError as exc:  # the rotation stands; next start retries the file
                written = False
                log.error("auth.credentials_file_write_failed", path=str(self.path), error=str(exc))
        log.info("auth.client_secret_rotated", client_id=client.client_id, address=address)
        return web.json_response({**_client_json(client), "credentialsFile": str(self.path),
                                  "credentialsFileWritten": written})

    async def activity(self, request: web.Request) -> web.Response:
        start = time_param(request, "from", end=False)
        end = time_param(request, "to", end=True)
        limit = int_param(request, "limit", 100, 1, ACTIVITY_LIMIT_MAX)
        entries = await self.store.activity(start, end, limit)
        return web.json_response({"activity": [
            {"id": e.id, "kind": e.kind, "at": iso(e.at), "clientId": e.client_id,
             "actor": e.actor, "address": e.address, "detail": e.detail} for e in entries
        ]})


ACCESS = web.AppKey("access", _Access)


def _unauthorized(error: str, detail: str) -> web.HTTPException:
    return api_error(web.HTTPUnauthorized, error, detail,
                     headers={"WWW-Authenticate": 'Bearer realm="hooksim"'})


def _credentials_match(client: ApiClientRecord, client_id: str, client_secret: str) -> bool:
    """Constant-time: digests have one length, and both comparisons always run."""
    id_ok = hmac.compare_digest(sha256(client_id), sha256(client.client_id))
    secret_ok = hmac.compare_digest(sha256(client_secret), sha256(client.client_secret))
    return id_ok & secret_ok


def _client_json(client: ApiClientRecord) -> dict[str, Any]:
    return {
        "clientName": client.client_name,
        "clientId": client.client_id,
        "clientSecret": client.client_secret,
        "createdAt": iso(client.created_at),
        "secretRotatedAt": iso(client.secret_rotated_at) if client.secret_rotated_at else None,
    }


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object, else 400."""
    try:
        body = json.loads(await request.read())
    # bad JSON, bad UTF-8, absurd nesting; a body it cannot decode (a broken gzip)
    except (ValueError, RecursionError, HttpProcessingError, RequestPayloadError):
        raise api_error(web.HTTPBadRequest, "invalid_json",
                        "the request body must be a JSON object") from None
    if not isinstance(body, dict):
        raise api_error(web.HTTPBadRequest, "invalid_json",
                        "the request body must be a JSON object")
    return body


def string_field(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise api_error(web.HTTPBadRequest, "invalid_request",
                        f"{key}: expected a non-empty string")
    return value


def time_param(request: web.Request, name: str, *, end: bool) -> float | None:
    """Epoch seconds of an ISO-8601 query parameter, or None if absent.

    A date (``2024-03-28``) is a whole UTC day: as ``from`` its start, as ``to`` the start of the
    next day, so ``to`` is exclusive yet ``from=D&to=D`` means all of day D. Times need a zone.
    """
    text = request.query.get(name)
    if text is None or text == "":
        return None
    try:
        if len(text) == 10:
            day = date.fromisoformat(text) + timedelta(days=1 if end else 0)
            return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
        parsed = datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise api_error(web.HTTPBadRequest, "invalid_query",
                        f"{name}: expected an ISO-8601 date (2024-03-28) or time with a zone "
                        f"(2024-03-28T15:00:00Z), got {text!r}")
    return parsed.timestamp()


def int_param(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    text = request.query.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise api_error(web.HTTPBadRequest, "invalid_query",
                        f"{name}: expected an integer {low}-{high}, got {text!r}")
    return value
