"""check fails, by name, the verifiers integrators really write wrong, and passes a correct one.

Each verifier below is served on 127.0.0.1 and answers 401 when its own (wrong) idea of the
signature does not match, 200 otherwise.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp import web

import signing
from endpoint_check.probe import CheckResult, run_checks
from tests.endpoint_check.test_probe import SIGNATURE_CASES, by_name, failed
from tests.endpoints import SECRET, Handler, answering, run_cli, verifying

PREVIOUS = "the-secret-before-rotation"


def _mac(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def checking(accepts: Callable[[bytes, str], bool]) -> Handler:
    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        return web.Response(status=200 if accepts(body, request.headers.get("Toast-Signature", ""))
                            else 401)
    return handle


def verifies(secrets: str | list[str], body: bytes, signature: str) -> bool:
    try:
        signing.verify(secrets, body, signature)
    except signing.SignatureError:
        return False
    return True


def hex_verifier(body: bytes, signature: str) -> bool:
    timestamp = json.loads(body)["timestamp"].encode()
    return hmac.compare_digest(_mac(SECRET, body + timestamp).hex(), signature)


def reserialising_verifier(body: bytes, signature: str) -> bool:
    """Parses, then hashes what JSON.stringify would write: the platform's own bytes, usually."""
    again = json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False).encode()
    return verifies(SECRET, again, signature)


def body_only_verifier(body: bytes, signature: str) -> bool:
    return hmac.compare_digest(base64.b64encode(_mac(SECRET, body)).decode(), signature)


def stale_secret_verifier(body: bytes, signature: str) -> bool:
    """Rotated, but still accepts the old secret as well."""
    return verifies([SECRET, PREVIOUS], body, signature)


async def check(endpoint, handler: Handler) -> dict[str, CheckResult]:
    results = await run_checks(await endpoint(handler), SECRET, previous_secret=PREVIOUS)
    return by_name(results)


async def test_a_correct_verifier_passes_every_check(endpoint) -> None:
    results = await check(endpoint, verifying())
    assert failed(list(results.values())) == []
    assert not results["previous-secret"].skipped


async def test_accept_anything_fails_every_signature_case(endpoint) -> None:
    results = await check(endpoint, answering(200))
    assert failed(list(results.values())) == SIGNATURE_CASES
    assert "not refused with a 4xx: no Toast-Signature header: stock/" in results[
        "missing-signature"].evidence


async def test_a_hex_verifier_fails_hex_digest(endpoint) -> None:
    results = await check(endpoint, checking(hex_verifier))
    assert "hex digest instead of base64: stock/" in results["hex-digest"].evidence
    assert not results["hex-digest"].passed
    # and every valid (base64) request was refused
    assert "valid twin stock/" in results["other-secret"].evidence
    assert not results["every-event-type"].passed


async def test_a_reserialising_verifier_fails_reserialised_json_only(endpoint) -> None:
    results = await check(endpoint, checking(reserialising_verifier))
    assert failed(list(results.values())) == ["reserialised-json"]
    evidence = results["reserialised-json"].evidence
    assert "signed over compact JSON (JSON.stringify): stock/" in evidence
    assert "valid twin stock/" in evidence and ": 401 after" in evidence


async def test_a_body_only_verifier_fails_body_only_hmac(endpoint) -> None:
    results = await check(endpoint, checking(body_only_verifier))
    assert not results["body-only-hmac"].passed
    assert "not refused with a 4xx: HMAC over the body without the timestamp" in results[
        "body-only-hmac"].evidence


async def test_a_verifier_keeping_the_old_secret_fails_previous_secret(endpoint) -> None:
    results = await check(endpoint, checking(stale_secret_verifier))
    assert failed(list(results.values())) == ["previous-secret"]
    assert "the secret before rotation: stock/" in results["previous-secret"].evidence


def stripping_verifier(body: bytes, signature: str) -> bool:
    """Configured from a file without strip(): its secret ends in a newline."""
    return verifies(SECRET + "\n", body, signature)


async def test_a_secret_with_a_trailing_newline_fails_secret_whitespace(endpoint) -> None:
    results = await check(endpoint, checking(stripping_verifier))
    assert "secret + trailing newline: stock/" in results["secret-whitespace"].evidence
    assert "secret-whitespace" in failed(list(results.values()))


@pytest.mark.parametrize("refuse", [500, 503])
async def test_a_5xx_is_no_refusal(endpoint, refuse: int) -> None:
    """The platform retries a 5xx: a forged request must be refused with a 4xx, not 5xx."""
    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        ok = verifies(SECRET, body, request.headers.get("Toast-Signature", ""))
        return web.Response(status=200 if ok else refuse)

    results = await check(endpoint, handle)
    assert failed(list(results.values())) == SIGNATURE_CASES


async def test_cli_previous_secret(endpoint, tmp_path: Path) -> None:
    url = await endpoint(checking(stale_secret_verifier))
    code, out, _ = await run_cli("check", "--url", url, "--secret", SECRET,
                                 "--previous-secret", PREVIOUS)
    assert code == 1
    assert [line.split()[1] for line in out.splitlines() if line.startswith("FAIL")] == [
        "previous-secret"]
    assert "17/18 checks passed" in out
