"""Who may call Toast's paths: the client-credentials login, bearer tokens, scopes, the
``Toast-Restaurant-External-ID`` header, and per-restaurant rate limits on platform time.

The login and the tokens are hooksim's own API client's (hooksim.auth, storage.credentials):
the same clientId and clientSecret, the same tokens and expiry. Only the shapes are Toast's.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web import RequestPayloadError

from dispatcher.events import Restaurant, is_guid
from storage.errors import StorageUnavailable
from storage.event_log import EventLog
from toastapi.errors import (
    MISSING_SCOPE, RATE_LIMITED, RESTAURANT_DENIED, ToastError, bad_request, unauthorized,
    unavailable,
)
from toastapi.settings import ToastApiSettings
from web.errors import ApiError

LOGIN_PATH = "/authentication/v1/authentication/login"
RESTAURANT_HEADER = "Toast-Restaurant-External-ID"
MACHINE_CLIENT = "TOAST_MACHINE_CLIENT"

# (request, clientId, clientSecret) -> (token, issued at, ttl seconds); raises aiohttp errors.
IssueToken = Callable[[web.Request, str, str], Awaitable[tuple[str, float, int]]]
# token -> the client id of a valid, unexpired token, else None.
TokenClient = Callable[[str], Awaitable["str | None"]]


@dataclass
class Platform:
    """What Toast's paths read: the event log, the simulated world, platform time, the API
    client's login. Built when the app starts, from the dispatcher's service and hooksim.auth."""

    log: EventLog
    restaurants: Sequence[Restaurant]   # the simulated world (dispatcher.restaurants, seed)
    now: Callable[[], float]            # platform time (the app's clock)
    settings: ToastApiSettings
    issue_token: IssueToken
    token_client: TokenClient
    limiter: RateLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(self.settings.orders_bulk_per_second)

    def restaurant(self, guid: str) -> Restaurant | None:
        return next((r for r in self.restaurants if r.guid == guid), None)


PLATFORM = web.AppKey("toast_platform", Platform)


class RateLimiter:
    """Requests per key in whole platform seconds (Toast's per-location limits)."""

    _SWEEP_AT = 10_000

    def __init__(self, per_second: int) -> None:
        self.per_second = per_second
        self._slices: dict[str, tuple[int, int]] = {}   # key -> (second, requests in it)

    def take(self, key: str, now: float, per_second: int | None = None) -> tuple[bool, int, int]:
        """(allowed, remaining, reset epoch second) for one more request under ``key``."""
        limit = per_second or self.per_second
        second = math.floor(now)
        if len(self._slices) >= self._SWEEP_AT:
            self._slices = {k: v for k, v in self._slices.items() if v[0] >= second}
        start, count = self._slices.get(key, (second, 0))
        if start != second:
            count = 0
        if count >= limit:
            return False, 0, second + 1
        self._slices[key] = (second, count + 1)
        return True, limit - count - 1, second + 1


def rate_headers(remaining: int, reset: int, now: float, denied: bool) -> dict[str, str]:
    """Toast's rate-limit header fields (an endpoint limit), and Retry-After on a 429."""
    headers = {"X-Toast-RateLimit-By": "ENDPOINT", "X-Toast-RateLimit-Remaining": str(remaining),
               "X-Toast-RateLimit-Reset": str(reset)}
    if denied:
        headers["Retry-After"] = str(max(1, math.ceil(reset - now)))
    return headers


def toast_errors(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                 ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A :class:`ToastError` becomes Toast's ErrorMessage; an unavailable database a 503 in the
    same shape (integrations on Toast's paths parse only that one)."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except ToastError as exc:
            return exc.response()
        except StorageUnavailable as exc:
            return unavailable(f"storage unavailable: {exc}").response()

    return wrapped


Guarded = Callable[[web.Request, str], Awaitable[web.StreamResponse]]


def guarded(scope: str, *, restaurant: bool = True
            ) -> Callable[[Guarded], Callable[[web.Request], Awaitable[web.StreamResponse]]]:
    """A Toast route: a valid bearer token (401), its ``scope`` if any (403), and unless
    ``restaurant`` is False the restaurant header naming a restaurant the client may read
    (400 without it, 403 for one it is not connected to). The handler gets the restaurant GUID."""

    def wrap(handler: Guarded) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        @toast_errors
        @functools.wraps(handler)
        async def wrapped(request: web.Request) -> web.StreamResponse:
            platform = request.app[PLATFORM]
            await authenticate(platform, request)
            if scope and scope not in platform.settings.scopes:
                raise ToastError(403, MISSING_SCOPE, f"The API client does not have the {scope} "
                                 "scope that this endpoint requires.",
                                 f"hooksim: [toast_api] scopes lacks {scope!r}")
            guid = await restaurant_of(platform, request) if restaurant else ""
            return await handler(request, guid)

        return wrapped

    return wrap


async def authenticate(platform: Platform, request: web.Request) -> str:
    header = request.headers.get("Authorization")
    if header is None:
        raise unauthorized(f"Authorization: Bearer <accessToken> is required; get a token "
                           f"from POST {LOGIN_PATH}")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise unauthorized("The Authorization header must be 'Bearer <accessToken>'")
    client = await platform.token_client(token)
    if client is None:
        raise unauthorized(f"The access token is unknown or expired; log in again at {LOGIN_PATH}")
    return client


async def restaurant_of(platform: Platform, request: web.Request) -> str:
    guid = request.headers.get(RESTAURANT_HEADER, "").strip()
    if not guid:
        raise bad_request(f"The {RESTAURANT_HEADER} header is required: the GUID of the "
                          "restaurant the request is about", RESTAURANT_HEADER)
    if not is_guid(guid.lower()):
        raise bad_request(f"{RESTAURANT_HEADER} must be a restaurant GUID, got {guid!r}",
                          RESTAURANT_HEADER)
    guid = guid.lower()
    now = platform.now()
    partner = await platform.log.latest_partner(guid, now)
    # Known: in the simulated world, connected by a partner event, or named by any event (a
    # GUID the world lacks gets a stand-in restaurant whose webhooks were sent like any other).
    known = (platform.restaurant(guid) is not None or partner is not None
             or await platform.log.names_restaurant(guid, now))
    if not known or (partner is not None and partner.event_type == "partner_removed"):
        raise ToastError(403, RESTAURANT_DENIED, f"The API client does not have access to "
                         f"restaurant {guid}.", "hooksim: no event names the restaurant and it is "
                         "not in the simulated world, or its latest partner event is partner_removed")
    return guid


def take_rate(platform: Platform, key: str, per_second: int | None = None) -> dict[str, str]:
    """Count one request against ``key``'s per-second limit (default: ordersBulk's setting):
    its headers, or raise 429."""
    now = platform.now()
    limit = per_second or platform.limiter.per_second
    allowed, remaining, reset = platform.limiter.take(key, now, limit)
    headers = rate_headers(remaining, reset, now, denied=not allowed)
    if not allowed:
        raise ToastError(429, RATE_LIMITED, f"Rate limit exceeded: at most "
                         f"{limit} requests per second for this "
                         "restaurant on this endpoint.", headers=headers)
    return headers


@toast_errors
async def login(request: web.Request) -> web.Response:
    """POST the client credentials; Toast's AuthenticationResponse with a bearer token."""
    platform = request.app[PLATFORM]
    body = await _json_object(request)
    for key in ("clientId", "clientSecret", "userAccessType"):
        if not isinstance(body.get(key), str) or not body[key]:
            raise bad_request(f"{key} is required (a non-empty string)", key)
    if body["userAccessType"] != MACHINE_CLIENT:
        raise bad_request(f"userAccessType must be {MACHINE_CLIENT}", "userAccessType")
    try:
        token, _, ttl = await platform.issue_token(request, body["clientId"], body["clientSecret"])
    except ApiError as exc:
        raise _toast_error_of(exc) from None
    return web.json_response({"token": {"tokenType": "Bearer", "scope": None, "expiresIn": ttl,
                                        "accessToken": token, "idToken": None,
                                        "refreshToken": None},
                              "status": "SUCCESS"})


def _toast_error_of(exc: ApiError) -> ToastError:
    """hooksim.auth's refusal (401 wrong credentials, 429 too many failures) in Toast's shape."""
    if exc.status == 429:
        return ToastError(429, RATE_LIMITED, "Too many failed logins; try again later.", exc.detail,
                          headers={k: v for k, v in exc.headers.items() if k == "Retry-After"})
    return unauthorized(exc.detail or "The client credentials are not valid")


async def _json_object(request: web.Request) -> Mapping[str, Any]:
    try:
        body = json.loads(await request.read())
    except (ValueError, RecursionError, HttpProcessingError, RequestPayloadError):
        body = None
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON AuthenticationRequest object")
    return body
