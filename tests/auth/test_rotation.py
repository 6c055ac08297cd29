"""Rotating the client secret, and the activity log that records it."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest

from dispatcher.clock import FakeClock
import hooksim.auth
from hooksim.auth import CREDENTIAL_STORE, LOGIN_PATH, ROTATE_CONFIRMATION, iso
from hooksim.credentials_file import CredentialsFileError, read_credentials
from tests.auth.conftest import TTL
from tests.auth.helpers import bearer_headers

DAY = 86_400.0


async def rotate(client: Any, headers: dict[str, str], confirm: Any = ROTATE_CONFIRMATION) -> Any:
    return await client.post("/api/credentials/rotate", json={"confirm": confirm}, headers=headers)


async def login(client: Any, client_id: str, secret: str) -> int:
    response = await client.post(LOGIN_PATH, json={"clientId": client_id, "clientSecret": secret})
    return response.status


async def activity(client: Any, headers: dict[str, str], **query: str) -> Any:
    return await client.get("/api/activity", params=query, headers=headers)


async def test_credentials_show_name_id_and_secret(client: Any, clock: FakeClock) -> None:
    record = await client.app[CREDENTIAL_STORE].client()
    response = await client.get("/api/credentials", headers=await bearer_headers(client))
    assert await response.json() == {
        "clientName": "hooksim", "clientId": record.client_id, "clientSecret": record.client_secret,
        "createdAt": iso(clock.now()), "secretRotatedAt": None}


@pytest.mark.parametrize("confirm", [None, "", "rotate secret", "ROTATE SECRET ", "ROTATE", 1])
async def test_rotation_needs_the_exact_confirmation(client: Any, confirm: Any) -> None:
    before = await client.app[CREDENTIAL_STORE].client()
    headers = await bearer_headers(client)
    response = await rotate(client, headers, confirm)
    assert response.status == 400
    body = await response.json()
    assert body["error"] == "confirmation_required" and body["detail"].startswith("confirm:")
    assert "ROTATE SECRET" in body["detail"]
    assert await client.app[CREDENTIAL_STORE].client() == before
    assert (await (await activity(client, headers)).json()) == {"activity": []}


@pytest.mark.parametrize("body", [b"", b"[]", b"{"])
async def test_rotation_with_a_malformed_body_is_400(client: Any, body: bytes) -> None:
    response = await client.post("/api/credentials/rotate", data=body,
                                 headers=await bearer_headers(client))
    assert response.status == 400 and (await response.json())["error"] == "invalid_input"


async def test_rotation_replaces_the_secret_and_old_tokens_live_until_they_expire(
        client: Any, clock: FakeClock, credentials_path: Path) -> None:
    old = await client.app[CREDENTIAL_STORE].client()
    headers = await bearer_headers(client)
    clock.advance(600)
    response = await rotate(client, headers)
    assert response.status == 200
    body = await response.json()
    assert body["clientId"] == old.client_id and body["clientSecret"] != old.client_secret
    assert body["secretRotatedAt"] == iso(clock.now())
    assert body["credentialsFile"] == str(credentials_path) and body["credentialsFileWritten"]
    assert read_credentials(credentials_path).client_secret == body["clientSecret"]
    assert stat.S_IMODE(credentials_path.stat().st_mode) == 0o600

    assert await login(client, old.client_id, old.client_secret) == 401
    assert await login(client, old.client_id, body["clientSecret"]) == 200
    assert (await client.get("/api/credentials", headers=headers)).status == 200  # old token
    clock.advance(TTL - 600)
    expired = await client.get("/api/credentials", headers=headers)
    assert expired.status == 401 and (await expired.json())["error"] == "token_expired"


async def test_a_file_that_cannot_be_rewritten_does_not_undo_the_rotation(
        client: Any, monkeypatch: Any) -> None:
    def fail(*args: Any) -> None:
        raise CredentialsFileError("cannot write credentials file: disk full")

    monkeypatch.setattr(hooksim.auth, "write_credentials", fail)
    response = await rotate(client, await bearer_headers(client))
    body = await response.json()
    assert response.status == 200 and body["credentialsFileWritten"] is False
    assert (await client.app[CREDENTIAL_STORE].client()).client_secret == body["clientSecret"]


async def test_the_activity_log_records_rotations_and_filters_by_date(
        client: Any, clock: FakeClock) -> None:
    headers = await bearer_headers(client)
    first_at = clock.now()
    await rotate(client, headers)
    clock.advance(DAY)
    second_at = clock.now()
    headers = await bearer_headers(client)  # the first token expired meanwhile
    await rotate(client, headers)
    record = await client.app[CREDENTIAL_STORE].client()

    entries = (await (await activity(client, headers)).json())["activity"]
    assert [e["at"] for e in entries] == [iso(second_at), iso(first_at)]  # newest first
    assert entries[0] == {
        "id": entries[0]["id"], "kind": "CLIENT_SECRET_ROTATED", "at": iso(second_at),
        "clientId": record.client_id, "actor": record.client_id, "address": "127.0.0.1",
        "detail": entries[0]["detail"]}
    assert "old secret" in entries[0]["detail"]

    async def times(**query: str) -> list[str]:
        response = await activity(client, headers, **query)
        assert response.status == 200, await response.text()
        return [e["at"] for e in (await response.json())["activity"]]

    first_day, second_day = iso(first_at)[:10], iso(second_at)[:10]
    assert await times(**{"from": iso(second_at)}) == [iso(second_at)]
    assert await times(to=iso(second_at)) == [iso(first_at)]  # 'to' is exclusive
    assert await times(**{"from": first_day, "to": first_day}) == [iso(first_at)]  # whole day
    assert await times(**{"from": second_day}) == [iso(second_at)]
    assert await times(to=first_day) == [iso(first_at)]
    assert await times(**{"from": "2000-01-01T00:00:00+02:00", "to": "2000-01-02"}) == []
    assert await times(limit="1") == [iso(second_at)]
    assert await times(**{"from": "", "to": ""}) == [iso(second_at), iso(first_at)]


@pytest.mark.parametrize("query", [
    {"from": "yesterday"}, {"to": "2024-13-01"}, {"from": "2024-03-01T10:00:00+25:00"},
    {"limit": "0"}, {"limit": "many"},
    {"limit": "1001"}, {"to": "9999-12-31"},
])
async def test_bad_activity_filters_are_400_naming_the_parameter(client: Any,
                                                                 query: dict[str, str]) -> None:
    response = await activity(client, await bearer_headers(client), **query)
    assert response.status == 400
    body = await response.json()
    assert body["error"] == "invalid_input" and body["field"] in query
    assert body["detail"].startswith(body["field"] + " must be")


async def test_an_empty_range_is_an_empty_list_not_an_error(client: Any) -> None:
    # from after to is a range with nothing in it (docs/openapi.yaml cannot say "400 if
    # from > to", and a schema-valid query must not be refused).
    response = await activity(client, await bearer_headers(client), **{"from": "2024-03-02",
                                                                       "to": "2024-03-01"})
    assert response.status == 200 and (await response.json())["activity"] == []
