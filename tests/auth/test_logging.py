"""Secrets and tokens never reach the logs, whichever way they are rendered."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
import structlog

from hooksim.auth import CREDENTIAL_STORE, LOGIN_PATH
from hooksim.logs import configure_logging
from tests.auth.conftest import MakeApp
from tests.auth.helpers import bearer_headers


async def exercise(client: Any) -> list[str]:
    """Log in, fail to log in, use and misuse tokens, rotate; the secret values involved."""
    record = await client.app[CREDENTIAL_STORE].client()
    headers = await bearer_headers(client)
    await client.post(LOGIN_PATH, json={"clientId": record.client_id, "clientSecret": "guess-123"})
    await client.get("/api/credentials", headers=headers)
    await client.get("/api/credentials", headers={"Authorization": "Bearer forged-token-456"})
    rotated = await client.post("/api/credentials/rotate", json={"confirm": "ROTATE SECRET"},
                                headers=headers)
    new_secret = (await rotated.json())["clientSecret"]
    return [record.client_secret, new_secret, headers["Authorization"].split()[1], "guess-123",
            "forged-token-456"]


async def test_captured_events_hold_no_secret_or_token(
        aiohttp_client: Any, make_app: MakeApp) -> None:
    with structlog.testing.capture_logs() as logs:
        client = await aiohttp_client(make_app())
        secrets = await exercise(client)
    events = [entry["event"] for entry in logs]
    for expected in ("auth.credentials_created", "auth.login_succeeded", "auth.login_failed",
                     "auth.client_secret_rotated"):
        assert expected in events
    text = repr(logs)
    assert not [s for s in secrets if s in text]


@pytest.mark.parametrize("level", ["info", "debug"])
async def test_rendered_log_lines_hold_no_secret_or_token(
        aiohttp_client: Any, make_app: MakeApp, level: str) -> None:
    stream = io.StringIO()
    configure_logging(level, "json", stream=stream)
    try:
        client = await aiohttp_client(make_app())
        secrets = await exercise(client)
        await client.close()
    finally:
        structlog.reset_defaults()
    output = stream.getvalue()
    events = [json.loads(line)["event"] for line in output.splitlines()]
    assert "auth.client_secret_rotated" in events
    assert not [s for s in secrets if s in output]
