"""HAR 1.2 (HTTP Archive), the export shape of stored HTTP exchanges: the receiver's messages
and the dispatcher's delivery attempts open in browser dev tools and HAR viewers.

Pure: plain values in, JSON-ready dicts and bytes out; the components pick what goes in.
Bodies are byte-exact: UTF-8 bodies as text, anything else base64 with ``"encoding":
"base64"`` (HAR's own field on response content; the same on a request's ``postData``, as
several HAR tools write it). A document is streamed: :data:`HAR_END` closes what
:func:`har_start` opens, with :func:`har_entry` bytes comma-separated between them.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

HAR_VERSION = "1.2"
HAR_CONTENT_TYPE = "application/json"
HAR_END = b"]}}"


def har_start(comment: str) -> bytes:
    """The document up to its first entry."""
    try:
        creator_version = version("hooksim")
    except PackageNotFoundError:   # run from a source tree that was never installed
        creator_version = "unknown"
    head = orjson.dumps({"version": HAR_VERSION,
                         "creator": {"name": "hooksim", "version": creator_version},
                         "comment": comment})
    return b'{"log":' + head[:-1] + b',"entries":['


def har_entry(entry: dict[str, Any], first: bool) -> bytes:
    return (b"" if first else b",") + orjson.dumps(entry)


def iso(ts: float) -> str:
    """Epoch seconds as ISO 8601 with milliseconds, as HAR's ``startedDateTime`` wants."""
    moment = datetime.fromtimestamp(ts, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def name_values(pairs: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"name": name, "value": value} for name, value in pairs]


def header(pairs: Iterable[tuple[str, str]], name: str, default: str = "") -> str:
    wanted = name.lower()
    return next((value for key, value in pairs if key.lower() == wanted), default)


def body_text(body: bytes) -> dict[str, str]:
    """``{"text": ...}`` for UTF-8, else ``{"text": base64, "encoding": "base64"}``."""
    try:
        return {"text": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"text": base64.b64encode(body).decode("ascii"), "encoding": "base64"}


def body_bytes(holder: dict[str, Any]) -> bytes:
    """The exact bytes a ``postData`` or ``content`` object holds (the inverse of body_text)."""
    text = holder.get("text", "")
    if holder.get("encoding") == "base64":
        return base64.b64decode(text)
    return text.encode("utf-8")


def har_request(method: str, url: str, headers: list[tuple[str, str]], body: bytes,
                body_size: int | None = None) -> dict[str, Any]:
    """A request; ``body_size`` when more arrived than was kept (-1: not known)."""
    request: dict[str, Any] = {
        "method": method, "url": url, "httpVersion": "HTTP/1.1", "cookies": [],
        "headers": name_values(headers),
        "queryString": name_values(parse_qsl(urlsplit(url).query, keep_blank_values=True)),
        "headersSize": -1, "bodySize": len(body) if body_size is None else body_size,
    }
    if body or method not in ("GET", "HEAD"):
        request["postData"] = {"mimeType": header(headers, "Content-Type"), **body_text(body)}
    return request


def har_response(status: int | None, status_text: str, headers: list[tuple[str, str]],
                 body: bytes, mime_type: str, comment: str = "") -> dict[str, Any]:
    """A response; ``status`` None (no answer: a timeout, a dropped connection) is HAR's 0."""
    response: dict[str, Any] = {
        "status": status or 0, "statusText": status_text, "httpVersion": "HTTP/1.1",
        "cookies": [], "headers": name_values(headers),
        "content": {"size": len(body), "mimeType": mime_type, **body_text(body)},
        "redirectURL": header(headers, "Location"), "headersSize": -1,
        "bodySize": len(body) if status else -1,
    }
    if comment:
        response["comment"] = comment
    return response


def har_timed_entry(started_at: float, wait_ms: float, request: dict[str, Any],
                    response: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """An entry whose time is all waiting for the answer (hooksim measures no finer)."""
    wait = max(0.0, round(wait_ms, 3))
    return {"startedDateTime": iso(started_at), "time": wait, "request": request,
            "response": response, "cache": {},
            "timings": {"blocked": -1, "dns": -1, "connect": -1, "ssl": -1, "send": 0,
                        "wait": wait, "receive": 0}, **extra}
