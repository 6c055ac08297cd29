"""Errors in Toast's own shape (its ``ErrorMessage``), which integrations parse on Toast's paths.

The project's ``{"error", "detail"}`` shape stays on ``/api``; here every 4xx is
``{status, code, message, messageKey, fieldName, link, requestId, developerMessage, errors,
canRetry}``. The numeric codes are hooksim's own (Toast does not publish its list): one per
condition, listed in docs/fallback-apis.md.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping

from aiohttp import web

_LINK = "https://doc.toasttab.com/doc/devguide/apiResponsesAndErrors.html"

# code -> (HTTP status, message)
BAD_REQUEST = 10400
UNAUTHORIZED = 10401
MISSING_SCOPE = 10403
RESTAURANT_DENIED = 10413
NOT_FOUND = 10404
RATE_LIMITED = 10429
UNAVAILABLE = 10503


class ToastError(Exception):
    """Raised by handlers; the middleware answers it in Toast's shape."""

    def __init__(self, status: int, code: int, message: str, developer_message: str = "",
                 headers: Mapping[str, str] | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.developer_message = developer_message or message
        self.headers = dict(headers or {})
        self.field = field

    def response(self) -> web.Response:
        body = {
            "status": self.status, "code": self.code, "message": self.message,
            "messageKey": None, "fieldName": self.field, "link": _LINK,
            "requestId": str(uuid.uuid4()), "developerMessage": self.developer_message,
            "errors": [], "canRetry": None,
        }
        return web.Response(status=self.status, text=json.dumps(body),
                            content_type="application/json", headers=self.headers)


def unavailable(message: str) -> ToastError:
    """The database cannot answer now (locked, busy, gone): 503, which clients retry."""
    return ToastError(503, UNAVAILABLE, message, headers={"Retry-After": "1"})


def bad_request(message: str, field: str | None = None) -> ToastError:
    return ToastError(400, BAD_REQUEST, message, field=field)


def unauthorized(message: str) -> ToastError:
    return ToastError(401, UNAUTHORIZED, message,
                      headers={"WWW-Authenticate": 'Bearer realm="toast"'})


def not_found(message: str) -> ToastError:
    return ToastError(404, NOT_FOUND, message)
