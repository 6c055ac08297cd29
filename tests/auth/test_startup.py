"""First start creates the client and its owner-only file; later starts reuse both."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
import structlog
from aiohttp import web

from hooksim.auth import CREDENTIAL_STORE, CREDENTIALS_PATH
from hooksim.credentials_file import (
    CredentialsFileError,
    FileCredentials,
    read_credentials,
    write_credentials,
)
from tests.auth.conftest import MakeApp


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_first_start_creates_credentials_and_an_owner_only_file(
        aiohttp_client: Any, make_app: MakeApp, credentials_path: Path) -> None:
    with structlog.testing.capture_logs() as logs:
        client = await aiohttp_client(make_app(client_name="acme"))
    record = await client.app[CREDENTIAL_STORE].client()
    assert client.app[CREDENTIALS_PATH] == credentials_path
    assert mode(credentials_path) == 0o600
    assert json.loads(credentials_path.read_text()) == {
        "clientName": "acme", "clientId": record.client_id, "clientSecret": record.client_secret}
    assert len(record.client_id) == 32 and len(record.client_secret) == 32
    created = [e for e in logs if e["event"] == "auth.credentials_created"]
    assert created and created[0]["path"] == str(credentials_path)
    assert record.client_secret not in repr(logs) and record.client_secret not in repr(record)


async def test_second_start_reuses_credentials_and_leaves_the_file_alone(
        aiohttp_client: Any, make_app: MakeApp, credentials_path: Path) -> None:
    first = await aiohttp_client(make_app())
    before = await first.app[CREDENTIAL_STORE].client()
    await first.close()
    written = credentials_path.stat()
    with structlog.testing.capture_logs() as logs:
        second = await aiohttp_client(make_app(client_name="renamed"))
    after = await second.app[CREDENTIAL_STORE].client()
    assert (after.client_id, after.client_secret) == (before.client_id, before.client_secret)
    assert after.client_name == "renamed"  # the setting wins; the id and secret stay
    now = credentials_path.stat()
    assert (now.st_ino, now.st_mtime_ns) == (written.st_ino, written.st_mtime_ns)
    assert not [e for e in logs if e["event"].startswith("auth.credentials_")]


async def test_a_deleted_file_is_written_again_with_the_same_credentials(
        aiohttp_client: Any, make_app: MakeApp, credentials_path: Path) -> None:
    first = await aiohttp_client(make_app())
    before = read_credentials(credentials_path)
    await first.close()
    credentials_path.unlink()
    await aiohttp_client(make_app())
    assert read_credentials(credentials_path) == before and mode(credentials_path) == 0o600


async def test_a_file_others_can_read_is_made_owner_only(
        aiohttp_client: Any, make_app: MakeApp, credentials_path: Path) -> None:
    await (await aiohttp_client(make_app())).close()
    os.chmod(credentials_path, 0o644)
    with structlog.testing.capture_logs() as logs:
        await aiohttp_client(make_app())
    assert mode(credentials_path) == 0o600
    assert "auth.credentials_file_permissions_fixed" in [e["event"] for e in logs]


async def test_an_outdated_hooksim_file_is_replaced(
        aiohttp_client: Any, make_app: MakeApp, credentials_path: Path) -> None:
    write_credentials(credentials_path, FileCredentials("old-id", "old-secret", "hooksim"))
    client = await aiohttp_client(make_app())
    record = await client.app[CREDENTIAL_STORE].client()
    assert read_credentials(credentials_path).client_secret == record.client_secret


async def test_a_foreign_file_stops_start_up_and_is_kept(
        make_app: MakeApp, credentials_path: Path) -> None:
    credentials_path.write_text("[server]\nport = 1\n")
    runner = web.AppRunner(make_app())
    with pytest.raises(CredentialsFileError, match="not a hooksim credentials file"):
        await runner.setup()
    await runner.cleanup()
    assert credentials_path.read_text() == "[server]\nport = 1\n"


def test_the_file_is_owner_only_from_creation_whatever_the_umask(tmp_path: Path) -> None:
    path = tmp_path / "new" / "credentials.json"  # a missing folder is created too
    previous = os.umask(0)
    try:
        write_credentials(path, FileCredentials("id", "secret", "name"))
    finally:
        os.umask(previous)
    assert mode(path) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["credentials.json"]  # no temporary left


def test_an_unwritable_place_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(CredentialsFileError, match="cannot write credentials file"):
        write_credentials(blocker / "credentials.json", FileCredentials("id", "secret"))
