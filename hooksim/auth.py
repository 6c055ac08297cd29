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
Errors are the HTTP toolkit's JSON (:mod:`web.errors`): ``{"error": "<code>", "detail": "<what to
do>", "field": "<name>"}``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web

import signing
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
from web.errors import ApiError
from web.params import json_object, query_int, query_time, string_field
from web.routes import error_response, json_route
from web.times import iso

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
            try:
                request[CLIENT_ID] = await access.authenticate(request)
            except ApiError as exc:
                return error_response(exc)
        return await handler(request)

    app.cleanup_ctx.append(access.startup)
    app.middlewares.append(require_token)
    app.router.add_routes(routes)


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
        self.write_file(client)
        log.info("auth.credentials_file_written", path=str(self.path),
                 reason="missing" if current is None else "outdated")

    def write_file(self, client: ApiClientRecord) -> None:
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
                raise ApiError(f"requests authorized by the session cookie must send the "
                               f"page's {CSRF_HEADER} header", code="csrf_token_invalid")
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
            raise ApiError(f"too many failed logins from {address}; try again in {wait} s",
                           code="too_many_attempts", headers={"Retry-After": str(wait)})
        if client is None or not _credentials_match(client, client_id, client_secret):
            self.limiter.record_failure(address, now)
            log.warning("auth.login_failed", address=address)
            raise ApiError("clientId or clientSecret is wrong; the credentials file written by "
                           "`hooksim serve` holds the current ones", code="invalid_credentials")
        token = secrets.token_urlsafe(32)
        ttl = self.settings.token_ttl_seconds
        await self.store.issue_token(token_digest(token),
                                     TokenRecord(client.client_id, now, now + ttl))
        log.info("auth.login_succeeded", client_id=client.client_id, address=address)
        return token, now, ttl


ACCESS = web.AppKey("access", _Access)

# -- routes --------------------------------------------------------------------------------------
routes = web.RouteTableDef()


@routes.post(LOGIN_PATH)
@json_route
async def login(request: web.Request) -> web.Response:
    body = await json_object(request)
    client_id, client_secret = (string_field(body, key) for key in ("clientId", "clientSecret"))
    token, now, ttl = await request.app[ACCESS].issue_token(request, client_id, client_secret)
    return web.json_response({"accessToken": token, "tokenType": "Bearer",
                              "expiresIn": ttl, "expiresAt": iso(now + ttl)})


@routes.get("/api/credentials")
@json_route
async def show_credentials(request: web.Request) -> web.Response:
    client = await request.app[ACCESS].store.client()
    if client is None:  # pragma: no cover - start-up always creates it
        raise ApiError("no API client yet", code="not_found")
    return web.json_response(_client_json(client))


@routes.post("/api/credentials/rotate")
@json_route
async def rotate(request: web.Request) -> web.Response:
    access = request.app[ACCESS]
    body = await json_object(request)
    if body.get("confirm") != ROTATE_CONFIRMATION:
        raise ApiError(f"confirm: type exactly {ROTATE_CONFIRMATION!r} to rotate the client "
                       "secret (the current secret stops working at once)", "confirm",
                       code="confirmation_required")
    address = request.remote or "unknown"
    async with access.rotation:
        now = access.clock()
        actor = request[CLIENT_ID]
        client = await access.store.rotate_secret(signing.new_secret(), Activity(
            kind=CLIENT_SECRET_ROTATED, at=now, client_id=actor, actor=actor, address=address,
            detail="client secret rotated: the old secret can no longer log in; tokens "
            "issued before keep working until they expire"))
        written = True
        try:
            access.write_file(client)
        except CredentialsFileError as exc:  # the rotation stands; next start retries the file
            written = False
            log.error("auth.credentials_file_write_failed", path=str(access.path), error=str(exc))
    log.info("auth.client_secret_rotated", client_id=client.client_id, address=address)
    return web.json_response({**_client_json(client), "credentialsFile": str(access.path),
                              "credentialsFileWritten": written})


@routes.get("/api/activity")
@json_route
async def activity(request: web.Request) -> web.Response:
    start = query_time(request.query, "from")
    end = query_time(request.query, "to", end=True)
    limit = query_int(request.query, "limit", 100, 1, ACTIVITY_LIMIT_MAX)
    entries = await request.app[ACCESS].store.activity(start, end, limit)
    return web.json_response({"activity": [
        {"id": e.id, "kind": e.kind, "at": iso(e.at), "clientId": e.client_id,
         "actor": e.actor, "address": e.address, "detail": e.detail} for e in entries
    ]})


def _unauthorized(code: str, detail: str) -> ApiError:
    return ApiError(detail, code=code, headers={"WWW-Authenticate": 'Bearer realm="hooksim"'})


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
