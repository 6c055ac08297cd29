"""The one JSON error of every route: ``{"error": code, "detail": text}`` plus ``"field"`` when
one request field or query parameter is at fault. ``error`` is always one of :data:`CODES`
(documented as the ``Error`` schema of docs/openapi.yaml, which a test keeps equal)."""

from __future__ import annotations

#: Every code a JSON route may answer, with its HTTP status.
CODES: dict[str, int] = {
    "invalid_input": 400,           # a body, field or query parameter is malformed or not allowed
    "confirmation_required": 400,   # a destructive request without its confirmation text
    "missing_token": 401,           # no Authorization header (nor session cookie)
    "malformed_authorization": 401,
    "invalid_token": 401,           # unknown, revoked or logged-out token; an expired session
    "token_expired": 401,
    "invalid_credentials": 401,     # login with a wrong client id or secret
    "csrf_token_invalid": 403,      # a cookie-authorized change without the page's CSRF token
    "not_found": 404,               # no such resource (subscription, delivery, message, endpoint)
    "method_not_allowed": 405,      # a route that exists, asked with another method; see Allow
    "conflict": 409,                # valid, but not in the resource's current state
    "too_many_attempts": 429,       # failed logins from one address; see Retry-After
    "storage_unavailable": 503,     # the database cannot answer right now: try again later
}


class ApiError(Exception):
    """An answer other than success, ready to become the JSON error. Subclasses fix ``code``;
    ``status`` follows from it."""

    code = "invalid_input"

    def __init__(self, detail: str, field: str | None = None, *, code: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        if code is not None:
            self.code = code
        if self.code not in CODES:   # pragma: no cover - a programming error
            raise ValueError(f"{self.code!r} is not in web.errors.CODES")
        self.detail = detail
        self.field = field
        self.headers = headers or {}

    @property
    def status(self) -> int:
        return CODES[self.code]

    def body(self) -> dict[str, str]:
        body = {"error": self.code, "detail": self.detail}
        if self.field:
            body["field"] = self.field
        return body


class InvalidInput(ApiError):
    """A field of the request is missing, of the wrong type, or not allowed."""

    code = "invalid_input"


class NotFound(ApiError):
    """No resource with that name."""

    code = "not_found"


class Conflict(ApiError):
    """The request is valid but not in the resource's current state."""

    code = "conflict"
