"""Checking one request body, pure: envelope fields, then Toast-Signature over the raw bytes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson

import signing

REQUIRED = ("timestamp", "eventCategory", "eventType", "guid")
# Longest text kept in a derived column; the body itself is always kept whole.
MAX_FIELD_LENGTH = 256


@dataclass(frozen=True)
class Envelope:
    """The envelope fields found, each None when absent or not text; all but ``timestamp``
    cleaned for storage (``timestamp`` stays exact because the signature covers it)."""

    timestamp: str | None = None
    guid: str | None = None
    category: str | None = None
    event_type: str | None = None
    restaurant_guid: str | None = None


@dataclass(frozen=True)
class Check:
    """The verdict on a body: the status it earns (200, 400 or 401) and why."""

    status: int
    envelope: Envelope
    verified: bool | None  # None: no secret to check against
    reason: str | None  # the signing reason code, or the envelope problem for a 400
    detail: str | None

    @property
    def accepted(self) -> bool:
        return self.status == 200


def clean_text(text: str, limit: int | None = None) -> str:
    """``text`` safe to store in a text column of either backend, optionally cut: lone
    surrogates (from invalid bytes or JSON escapes) and NUL (PostgreSQL text cannot hold it)
    become backslash escapes (``\\ud800``, ``\\x00``). The body itself is kept as exact bytes."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
    return text if limit is None else text[:limit]


def parse_envelope(body: bytes) -> tuple[Envelope, tuple[str, str] | None]:
    """The envelope's fields and the problem (code, detail) that makes it invalid, if any."""
    try:
        data = _loads(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        return Envelope(), ("not_json", clean_text(f"body is not JSON: {exc}", 300))
    if not isinstance(data, dict):
        return Envelope(), ("not_an_object", "body is not a JSON object")
    text = {key: _field(data, key) for key in REQUIRED}
    timestamp = data.get("timestamp")  # kept raw: the signature covers its exact text
    details = data.get("details")
    restaurant = _field(details, "restaurantGuid") if isinstance(details, dict) else None
    envelope = Envelope(timestamp if isinstance(timestamp, str) else None, text["guid"],
                        text["eventCategory"], text["eventType"], restaurant)
    missing = [key for key in REQUIRED if text[key] is None]
    if not isinstance(details, dict):
        missing.append("details")
    if missing:
        return envelope, ("missing_fields",
                          "envelope lacks or has the wrong type for: " + ", ".join(missing))
    return envelope, None


def _loads(body: bytes) -> Any:
    """``json.loads``, fast: orjson (4x quicker on a 1 KB envelope) parses every ordinary body;
    what it refuses (NaN, integers beyond 64 bits, nesting past 1024) goes to the standard
    library, whose verdict and error text stay the receiver's rule."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


def _field(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return clean_text(value, MAX_FIELD_LENGTH) if isinstance(value, str) else None


def check(body: bytes, secrets: tuple[str, ...], signature: str | None) -> Check:
    """Verify ``signature`` (when there are secrets) and the envelope; 401 beats 400, so an
    unsigned request learns nothing about what the body should be."""
    envelope, problem = parse_envelope(body)
    verified: bool | None = None
    reason = detail = None
    if secrets:
        try:
            # The envelope's own timestamp text (spec section 4), so the body is parsed once.
            signing.verify(secrets, body, signature, envelope.timestamp)
            verified = True
        except signing.BodyError:
            verified = False
        except signing.SignatureError as exc:
            return Check(401, envelope, False, exc.reason, str(exc))
    else:
        reason, detail = signing.NoSecret.reason, "the endpoint has no secret: not verified"
    # BodyError only comes without a text timestamp, which is itself an envelope problem.
    if problem is not None:
        return Check(400, envelope, verified, problem[0], problem[1])
    return Check(200, envelope, verified, reason, detail)
