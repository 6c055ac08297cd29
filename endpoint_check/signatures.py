"""The ways verifiers get Toast-Signature wrong, as requests a correct verifier must refuse.

Pure: bytes in, requests out, no I/O. Each :class:`Case` is one named check of ``hooksim check``:
its forgeries must get a 4xx, and its valid twin (the same kind of event, signed right over the
bytes sent) a 2xx; a verifier that is wrong in that way fails one side or the other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import signing


@dataclass(frozen=True)
class Keys:
    """The secrets a case may sign with: the endpoint's, the expired one, another subscription's."""

    secret: str
    previous: str | None
    other: str


@dataclass(frozen=True)
class Forgery:
    what: str                 # for the evidence: "hex digest"
    body: bytes
    signature: str | None     # None: no Toast-Signature header at all


Forge = Callable[[Keys, bytes, str], tuple[Forgery, ...]]


def compact(envelope: Mapping[str, Any]) -> bytes:
    """The platform's bytes: compact JSON, non-ASCII as UTF-8."""
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def unusual(envelope: Mapping[str, Any]) -> bytes:
    """Valid JSON no serialiser writes by default: keys reversed, indented, non-ASCII escaped.

    Signed right over these bytes it is a valid request that only a verifier hashing the bytes
    it received accepts; one that parses and re-serialises first computes another digest.
    """
    return json.dumps(dict(reversed(list(envelope.items()))), indent=3,
                      ensure_ascii=True).encode("ascii")


def reserialisations(body: bytes) -> dict[str, bytes]:
    """What re-serialising verifiers hash instead of ``body``: JSON.stringify, Python's
    json.dumps, sorted keys."""
    parsed = json.loads(body)
    return {
        "compact JSON (JSON.stringify)": compact(parsed),
        "Python's json.dumps": json.dumps(parsed).encode("utf-8"),
        "sorted keys": json.dumps(parsed, sort_keys=True, separators=(",", ":"),
                                  ensure_ascii=False).encode("utf-8"),
    }


def _hmac(key: str, *parts: bytes) -> bytes:
    mac = hmac.new(key.encode("utf-8"), b"".join(parts), hashlib.sha256)
    return mac.digest()


def alter_one_byte(body: bytes) -> bytes:
    """``body`` with one character of its event GUID changed: still valid JSON, another digest."""
    at = body.index(b'"guid"')
    at = body.index(b'"', body.index(b":", at)) + 1
    changed = b"0" if body[at:at + 1] != b"0" else b"1"
    return body[:at] + changed + body[at + 1:]


def other_secret(rng: random.Random) -> str:
    """A well-formed secret that is not the endpoint's (another subscription's, say)."""
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(32))


def _reserialised(keys: Keys, body: bytes, timestamp: str) -> tuple[Forgery, ...]:
    return tuple(Forgery(f"signed over {label}", body, signing.sign(keys.secret, other, timestamp))
                 for label, other in reserialisations(body).items() if other != body)


def _hex(keys: Keys, body: bytes, timestamp: str) -> tuple[Forgery, ...]:
    digest = _hmac(keys.secret, body, timestamp.encode("utf-8")).hex()
    return (Forgery("hex digest instead of base64", body, digest),)


def _body_only(keys: Keys, body: bytes, timestamp: str) -> tuple[Forgery, ...]:
    digest = base64.b64encode(_hmac(keys.secret, body)).decode("ascii")
    return (Forgery("HMAC over the body without the timestamp", body, digest),)


def _whitespace(keys: Keys, body: bytes, timestamp: str) -> tuple[Forgery, ...]:
    return (Forgery("secret + trailing newline", body, signing.sign(keys.secret + "\n", body, timestamp)),
            Forgery("secret in surrounding spaces", body,
                    signing.sign(f" {keys.secret} ", body, timestamp)))


def _previous(keys: Keys, body: bytes, timestamp: str) -> tuple[Forgery, ...]:
    assert keys.previous is not None
    return (Forgery("the secret before rotation", body, signing.sign(keys.previous, body, timestamp)),)


def _other(keys: Keys, body: bytes, timestamp: str) -> tuple[Forgery, ...]:
    return (Forgery("another subscription's secret", body, signing.sign(keys.other, body, timestamp)),)


def _empty(keys: Keys, body: bytes, timestamp: str) -> tuple[Forgery, ...]:
    return (Forgery("empty Toast-Signature", body, ""),)


def _missing(keys: Keys, body: bytes, timestamp: str) -> tuple[Forgery, ...]:
    return (Forgery("no Toast-Signature header", body, None),)


def _altered(keys: Keys, body: bytes, timestamp: str) -> tuple[Forgery, ...]:
    return (Forgery("body altered by one byte after signing", alter_one_byte(body),
                    signing.sign(keys.secret, body, timestamp)),)


@dataclass(frozen=True)
class Case:
    name: str
    forge: Forge
    twin_body: Callable[[Mapping[str, Any]], bytes] = compact
    needs_previous: bool = False    # runs only when the user gives --previous-secret


CASES: tuple[Case, ...] = (
    Case("reserialised-json", _reserialised, twin_body=unusual),
    Case("hex-digest", _hex),
    Case("body-only-hmac", _body_only),
    Case("secret-whitespace", _whitespace),
    Case("previous-secret", _previous, needs_previous=True),
    Case("other-secret", _other),
    Case("empty-signature", _empty),
    Case("missing-signature", _missing),
    Case("altered-body", _altered),
)
