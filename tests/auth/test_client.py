"""The CLI's ApiClient against a real running app, and the helper commands use."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import structlog

from dispatcher.clock import FakeClock
from hooksim.auth import CREDENTIAL_STORE, ROTATE_CONFIRMATION
from hooksim.client import ApiClient, ApiError, default_base_url, run_api_command
from hooksim.config import load_settings
from hooksim.errors import UsageError
from hooksim.settings import ServerSettings, Settings
from tests.auth.conftest import TTL, MakeApp


@pytest.fixture
async def server(aiohttp_server: Any, make_app: MakeApp) -> Any:
    return await aiohttp_server(make_app())


async def api_client(server: Any, **kwargs: Any) -> ApiClient:
    record = await server.app[CREDENTIAL_STORE].client()
    return ApiClient(str(server.make_url("")), record.client_id,
                     kwargs.pop("secret", record.client_secret), **kwargs)


def logins(logs: list[dict[str, Any]]) -> int:
    return sum(entry["event"] == "auth.login_succeeded" for entry in logs)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_logs_in_once_and_reuses_the_token(server: Any) -> None:
    with structlog.testing.capture_logs() as logs:
        async with await api_client(server) as client:
            first = await client.request("GET", "/api/credentials")
            await client.request("GET", "api/sample/abc")
    assert first["clientId"] == client.client_id and logins(logs) == 1
    assert first["clientSecret"] not in repr(client)


async def test_logs_in_again_once_when_the_token_expired(server: Any, clock: FakeClock) -> None:
    with structlog.testing.capture_logs() as logs:
        async with await api_client(server) as client:
            await client.request("GET", "/api/credentials")
            clock.advance(TTL)
            assert await client.request("POST", "/api/sample", json={}) == {"ok": True}
    assert logins(logs) == 2


async def test_error_answers_become_api_errors(server: Any) -> None:
    async with await api_client(server) as client:
        with pytest.raises(ApiError) as refused:
            await client.request("POST", "/api/credentials/rotate", json={"confirm": "no"})
        assert (refused.value.status, refused.value.error) == (400, "confirmation_required")
        assert refused.value.detail.startswith("confirm:")
        with pytest.raises(ApiError) as missing:
            await client.request("GET", "/api/no-such-thing")
        assert (missing.value.status, missing.value.error) == (404, "http_404")
        answer = await client.request("GET", "/api/activity", params={"from": None, "limit": 5})
        assert answer == {"activity": []}


async def test_wrong_credentials_are_one_api_error(server: Any) -> None:
    async with await api_client(server, secret="wrong") as client:
        with pytest.raises(ApiError) as refused:
            await client.request("GET", "/api/credentials")
    assert (refused.value.status, refused.value.error) == (401, "invalid_credentials")


async def test_a_server_that_is_not_running_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    async with ApiClient(url, "id", "secret") as client:
        with pytest.raises(ApiError) as failed:
            await client.request("GET", "/api/credentials")
    assert (failed.value.status, failed.value.error) == (0, "connection_failed")
    assert str(failed.value) == (f"cannot reach hooksim at {url}: start `hooksim serve` in this "
                                 "folder, or point the CLI at the running server with --server "
                                 "URL or HOOKSIM_URL=URL")


async def test_a_slow_answer_times_out(server: Any) -> None:
    async with await api_client(server, timeout=0.3) as client:
        with pytest.raises(ApiError) as failed:
            await client.request("GET", "/api/slow")
    assert (failed.value.status, failed.value.error) == (0, "timeout")


async def test_stream_yields_the_json_of_each_event(server: Any, clock: FakeClock) -> None:
    async with await api_client(server) as client:
        await client.request("GET", "/api/credentials")
        clock.advance(TTL)  # the stream has to log in again too
        events = [event async for event in client.stream("/api/events")]
    assert [event["n"] for event in events] == [1, 2, 3]
    assert len(events[2]["pad"]) == 200_000


async def test_stream_errors_are_api_errors(server: Any) -> None:
    async with await api_client(server) as client:
        with pytest.raises(ApiError) as missing:
            [event async for event in client.stream("/api/nothing-here")]
    assert (missing.value.status, missing.value.error) == (404, "http_404")   # no such route
    async with ApiClient(f"http://127.0.0.1:{closed_port()}", "id", "secret") as client:
        with pytest.raises(ApiError, match="--server URL or HOOKSIM_URL"):
            [event async for event in client.stream("/api/events")]


def test_from_settings_reads_the_credentials_file(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text('{"clientId": "the-id", "clientSecret": "the-secret"}')
    settings = load_settings(environ={}, overrides={"auth": {"credentials_file": str(path)},
                                                    "server": {"port": 9123}})
    client = ApiClient.from_settings(settings)
    assert (client.base_url, client.client_id) == ("http://127.0.0.1:9123", "the-id")
    assert ApiClient.from_settings(settings, "http://h:1/").base_url == "http://h:1"


def test_from_settings_without_a_file_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "absent.json"
    with pytest.raises(UsageError) as failed:
        ApiClient.from_settings(Settings(), credentials_file=str(path))
    assert str(failed.value) == (f"no credentials file at {path}: start `hooksim serve` first or "
                                 "pass --server/--credentials")
    path.write_text("{}")
    with pytest.raises(UsageError, match="not a hooksim credentials file"):
        ApiClient.from_settings(Settings(), credentials_file=str(path))


def test_from_settings_refuses_a_url_without_scheme(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text('{"clientId": "i", "clientSecret": "s"}')
    with pytest.raises(UsageError, match="--server: expected http://"):
        ApiClient.from_settings(Settings(), "localhost:8080", credentials_file=str(path))


@pytest.mark.parametrize(("host", "port", "url"), [
    ("127.0.0.1", 8080, "http://127.0.0.1:8080"), ("0.0.0.0", 80, "http://127.0.0.1:80"),
    ("::", 8080, "http://[::1]:8080"), ("::1", 9, "http://[::1]:9"),
    ("example.test", 8080, "http://example.test:8080"),
])
def test_default_base_url(host: str, port: int, url: str) -> None:
    assert default_base_url(ServerSettings(host=host, port=port)) == url


def test_default_base_url_needs_a_real_port() -> None:
    with pytest.raises(UsageError, match="pass --server"):
        default_base_url(ServerSettings(port=0))


def test_run_api_command_maps_errors_to_exit_codes(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text('{"clientId": "i", "clientSecret": "s"}')

    async def boom(client: ApiClient) -> None:
        raise ApiError(404, "not_found", "no such subscription")

    with pytest.raises(UsageError) as answered:
        run_api_command(Settings(), boom, url="http://127.0.0.1:1", credentials=str(path))
    assert answered.value.exit_code == 1 and "no such subscription" in str(answered.value)

    async def call(client: ApiClient) -> Any:
        return await client.request("POST", "/api/credentials/rotate",
                                    json={"confirm": ROTATE_CONFIRMATION})

    with pytest.raises(UsageError) as unreachable:
        run_api_command(Settings(), call, url=f"http://127.0.0.1:{closed_port()}",
                        credentials=str(path))
    assert unreachable.value.exit_code == 2
    assert "--server URL or HOOKSIM_URL" in str(unreachable.value)
