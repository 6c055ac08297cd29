"""POST /api/authentication/login: tokens, wrong and malformed requests, the per-address limit."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from dispatcher.clock import FakeClock
import hooksim.auth
from hooksim.auth import CREDENTIAL_STORE, LOGIN_PATH, LoginLimiter, iso, token_digest
from tests.auth.conftest import TTL, MakeApp


async def credentials(client: Any) -> dict[str, str]:
    record = await client.app[CREDENTIAL_STORE].client()
    return {"clientId": record.client_id, "clientSecret": record.client_secret}


async def test_login_returns_a_bearer_token_stored_only_as_its_hash(client: Any,
                                                                    clock: FakeClock) -> None:
    response = await client.post(LOGIN_PATH, json=await credentials(client))
    assert response.status == 200
    body = await response.json()
    assert body["tokenType"] == "Bearer" and body["expiresIn"] == TTL
    assert body["expiresAt"] == iso(clock.now() + TTL)
    store = client.app[CREDENTIAL_STORE]
    assert await store.find_token(body["accessToken"]) is None  # never stored in clear
    assert (await store.find_token(token_digest(body["accessToken"]))).expires_at == clock.now() + TTL


async def test_extra_fields_are_ignored(client: Any) -> None:
    body = {**await credentials(client), "userAccessType": "TOAST_MACHINE_CLIENT"}
    response = await client.post(LOGIN_PATH, json=body)
    assert response.status == 200
    assert (await response.json())["tokenType"] == "Bearer"


@pytest.mark.parametrize("change", [{"clientSecret": "wrong"}, {"clientId": "unknown"},
                                    {"clientSecret": "\ud800"}, {"clientId": "caf\u00e9"}])
async def test_wrong_credentials_are_refused(client: Any, change: dict[str, str]) -> None:
    response = await client.post(LOGIN_PATH, json={**await credentials(client), **change})
    assert response.status == 401
    body = await response.json()
    assert body["error"] == "invalid_credentials" and "credentials file" in body["detail"]
    assert "accessToken" not in body


async def test_the_secret_is_compared_in_constant_time(client: Any, monkeypatch: Any) -> None:
    calls = []
    real = hooksim.auth.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(hooksim.auth.hmac, "compare_digest", spy)
    await client.post(LOGIN_PATH, json={**await credentials(client), "clientId": "x"})
    assert calls == [(32, 32), (32, 32)]  # both fields, as equal-length digests, even on a miss


@pytest.mark.parametrize("body", [
    b"", b"not json", b"[]", b'"text"', b"\xff\xfe", b"[" * 100_000,
    b'{"clientSecret": "s"}', b'{"clientId": "i"}', b'{"clientId": 1, "clientSecret": "s"}',
    b'{"clientId": "i", "clientSecret": ""}', b'{"clientId": "i", "clientSecret": null}',
])
async def test_malformed_bodies_get_400_naming_the_problem(client: Any, body: bytes) -> None:
    response = await client.post(LOGIN_PATH, data=body,
                                 headers={"Content-Type": "application/json"})
    assert response.status == 400
    answer = await response.json()
    assert answer["error"] == "invalid_input" and answer["detail"]


async def test_failed_logins_are_limited_per_address_with_retry_after(
        aiohttp_client: Any, make_app: MakeApp, clock: FakeClock) -> None:
    client = await aiohttp_client(make_app(login_attempts_per_minute=3))
    good = await credentials(client)
    for _ in range(3):
        assert (await client.post(LOGIN_PATH, json={**good, "clientSecret": "x"})).status == 401
    refused = await client.post(LOGIN_PATH, json=good)  # even the right secret waits
    assert refused.status == 429 and refused.headers["Retry-After"] == "60"
    assert (await refused.json())["error"] == "too_many_attempts"
    clock.advance(45)
    again = await client.post(LOGIN_PATH, json=good)
    assert again.status == 429 and again.headers["Retry-After"] == "15"
    clock.advance(15)
    assert (await client.post(LOGIN_PATH, json=good)).status == 200


async def test_parallel_guesses_cannot_outrun_the_limit(aiohttp_client: Any,
                                                       make_app: MakeApp) -> None:
    client = await aiohttp_client(make_app(login_attempts_per_minute=3))
    wrong = {**await credentials(client), "clientSecret": "x"}
    answers = await asyncio.gather(*(client.post(LOGIN_PATH, json=wrong) for _ in range(12)))
    assert sorted(a.status for a in answers) == [401] * 3 + [429] * 9


async def test_successful_and_malformed_logins_do_not_count(
        aiohttp_client: Any, make_app: MakeApp) -> None:
    client = await aiohttp_client(make_app(login_attempts_per_minute=2))
    good = await credentials(client)
    for _ in range(5):
        assert await logged_in(client.post(LOGIN_PATH, json=good))
        malformed = await client.post(LOGIN_PATH, data=b"{")
        assert (malformed.status, (await malformed.json())["error"]) == (400, "invalid_input")
    assert await logged_in(client.post(LOGIN_PATH, json=good))


async def logged_in(request: Any) -> bool:
    """Whether a login answered 200 with a bearer token."""
    response = await request
    return response.status == 200 and (await response.json())["accessToken"] != ""


def test_the_limiter_keeps_addresses_apart_and_forgets_idle_ones() -> None:
    limiter = LoginLimiter(limit=2)
    for t in (0.0, 1.0):
        limiter.record_failure("10.0.0.1", t)
    assert limiter.retry_after("10.0.0.1", 2.0) == 58
    assert limiter.retry_after("10.0.0.2", 2.0) == 0
    assert limiter.retry_after("10.0.0.1", 60.5) == 0  # the first failure left the window
    assert limiter.retry_after("10.0.0.1", 61.0) == 0 and limiter._failures == {}
    limiter._SWEEP_AT = 3
    for i in range(3):
        limiter.record_failure(f"10.0.1.{i}", 100.0)
    limiter.record_failure("10.0.2.1", 200.0)  # a full table sweeps addresses idle for a window
    assert list(limiter._failures) == ["10.0.2.1"]
