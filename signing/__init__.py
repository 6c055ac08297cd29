"""Toast-Signature: sign and verify webhook bodies. Pure functions, no I/O, no clock.

The platform computes ``base64(HMAC-SHA256(secret, body + timestamp))`` where
``body`` is the raw bytes sent and ``timestamp`` is the envelope's top-level
``timestamp`` text (spec section 4). Verifiers must hash the bytes they
received, never re-serialised JSON.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets as _secrets
import string
from collections.abc import Iterable

__all__ = [
    "SIGNATURE_LENGTH",
    "BodyError",
    "MalformedSignature",
    "MissingSignature",
    "NoSecret",
    "SignatureError",
    "SignatureMismatch",
    "new_secret",
    "sign",
    "timestamp_of",
    "verify",
]

#: Length of a base64-encoded SHA-256 digest with padding.
SIGNATURE_LENGTH = 44
_DIGEST_SIZE = hashlib.sha256().digest_size
_SECRET_ALPHABET = string.ascii_letters + string.digits


class SignatureError(Exception):
    """A signature could not be verified. ``reason`` is a short machine-readable code."""

    reason = "invalid_signature"


class MissingSignature(SignatureError):
    reason = "missing_signature"

    def __init__(self) -> None:
        super().__init__("no Toast-Signature was given")


class MalformedSignature(SignatureError):
    reason = "malformed_signature"


class BodyError(SignatureError):
    """The body has no usable timestamp to sign (not JSON, not an object, no text timestamp)."""

    reason = "body_without_timestamp"


class NoSecret(SignatureError):
    reason = "no_secret"

    def __init__(self) -> None:
        super().__init__("no secret configured to verify against")


class SignatureMismatch(SignatureError):
    reason = "signature_mismatch"

    def __init__(self) -> None:
        super().__init__("signature does not match the body, timestamp and secret(s)")


def _utf8(text: str) -> bytes:
    # surrogatepass: JSON may escape a lone surrogate ("\ud800"), which strict UTF-8 cannot
    # encode; its WTF-8 bytes are the one rule both sides can apply, so it signs, never raises.
    return text.encode("utf-8", "surrogatepass")


def _digest(secret: str, body: bytes, timestamp: str) -> bytes:
    mac = hmac.new(_utf8(secret), body, hashlib.sha256)
    mac.update(_utf8(timestamp))
    return mac.digest()


def sign(secret: str, body: bytes, timestamp: str) -> str:
    """Return the Toast-Signature for ``body`` sent with ``timestamp`` under ``secret``."""
    return base64.b64encode(_digest(secret, body, timestamp)).decode("ascii")


def timestamp_of(body: bytes) -> str:
    """The top-level ``timestamp`` text of a JSON envelope, or BodyError saying why not."""
    try:
        envelope = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BodyError(f"body is not JSON: {exc}") from None
    if not isinstance(envelope, dict):
        raise BodyError("body is not a JSON object")
    timestamp = envelope.get("timestamp")
    if not isinstance(timestamp, str):
        raise BodyError("body has no top-level text 'timestamp'")
    return timestamp


def _decode_signature(signature: str | bytes | None) -> bytes:
    if signature is None or signature == "" or signature == b"":
        raise MissingSignature()
    if isinstance(signature, bytes):
        try:
            signature = signature.decode("ascii")
        except UnicodeDecodeError:
            raise MalformedSignature("signature is not ASCII base64") from None
    signature = signature.strip()
    if len(signature) != SIGNATURE_LENGTH:
        raise MalformedSignature(
            f"signature must be {SIGNATURE_LENGTH} base64 characters, got {len(signature)}"
        )
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedSignature("signature is not valid base64") from None
    if len(raw) != _DIGEST_SIZE:  # pragma: no cover - 44 valid chars always decode to 32 bytes
        raise MalformedSignature("signature does not decode to a SHA-256 digest")
    return raw


def verify(
    secrets: str | Iterable[str],
    body: bytes,
    signature: str | bytes | None,
    timestamp: str | None = None,
) -> str:
    """Check ``signature`` against ``body`` under any of ``secrets``.

    Returns the secret that matched (so callers can tell which of several
    rotating secrets is in use). ``timestamp`` defaults to the body's own
    top-level ``timestamp`` text. Every comparison is constant-time and all
    secrets are tried, so timing does not reveal which one matched.
    Raises a :class:`SignatureError` subclass naming the problem.
    """
    candidates = [secrets] if isinstance(secrets, str) else list(secrets)
    if not candidates:
        raise NoSecret()
    expected = _decode_signature(signature)
    if timestamp is None:
        timestamp = timestamp_of(body)
    matched: str | None = None
    for secret in candidates:
        if hmac.compare_digest(_digest(secret, body, timestamp), expected) and matched is None:
            matched = secret
    if matched is None:
        raise SignatureMismatch()
    return matched


def new_secret(length: int = 32) -> str:
    """A fresh random secret of printable ASCII letters and digits (about 190 bits)."""
    if length < 16:
        raise ValueError("a secret needs at least 16 characters")
    return "".join(_secrets.choice(_SECRET_ALPHABET) for _ in range(length))
