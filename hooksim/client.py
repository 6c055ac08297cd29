"""The CLI's client for hooksim's ``/api``: logs in with the credentials file, keeps the token.

Every aiohttp failure is translated here, at the one boundary, into :class:`ApiError`, so commands
handle a single exception type. ``status`` 0 means no HTTP answer came back.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import aiohttp

from hooksim.auth import LOGIN_PATH
from hooksim.credentials_file import CredentialsFileError, FileCredentials, read_credentials
from hooksim.errors import UsageError
from hooksim.runtime_file import read_runtime
from hooksim.settings import ServerSettings, Settings

T = TypeVar("T")

#: The running server's URL for the CLI, when --server is not given.
URL_VARIABLE = "HOOKSIM_URL"

# Answers that mean "change the command, its credentials, or start the server": exit 2.
_USAGE_STATUSES = frozenset({0, 400, 401, 403, 413, 422, 429})


class ApiError(Exception):
    """A request that did not succeed: ``status`` (0 = no answer), ``error`` code, ``detail``."""

    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail if status == 0 else f"{detail} (HTTP {status}, {error})")
        self.status = status
        self.error = error
        self.detail = detail


class ApiClient:
    """An async client of one hooksim server. Use as ``async with``, or call :meth:`close`."""

    def __init__(self, base_url: str, client_id: str, client_secret: str, *,
                 timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self._client_secret = client_secret
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._token: str | None = None
        self._login_lock = asyncio.Lock()  # concurrent first requests log in once

    def __repr__(self) -> str:
        return f"ApiClient({self.base_url!r}, client_id={self.client_id!r})"

    @classmethod
    def from_settings(cls, settings: Settings, base_url: str | None = None, *,
                      credentials_file: str | None = None, timeout: float = 30.0) -> ApiClient:
        """A client for the server ``settings`` describe, with the credentials file's id and secret.

        The server is ``base_url`` (``--server``, or the HOOKSIM_URL variable), else the one
        started from this folder (its runtime file), else server.host:server.port.

        Raises :class:`UsageError` (exit 2) if the file is missing or unreadable.
        """
        base_url, credentials = find_server(settings, base_url, credentials_file)
        return cls(base_url, credentials.client_id, credentials.client_secret, timeout=timeout)

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(self, method: str, path: str, *, json: Any = None,
                      params: Mapping[str, Any] | None = None) -> Any:
        """The decoded JSON answer (text if not JSON, None if empty); ApiError unless 2xx.

        Logs in on first use and once more if the token is refused (expired, or the server's
        database was replaced).
        """
        for attempt in (1, 2):
            token = await self._ensure_token()
            status, body = await self._send(method, path, token=token, json=json, params=params)
            if status == 401 and attempt == 1:
                self._forget(token)
                continue
            return _result(status, body)
        raise AssertionError("unreachable")  # pragma: no cover

    async def stream(self, path: str, params: Mapping[str, Any] | None = None
                     ) -> AsyncIterator[dict[str, Any]]:
        """Server-sent events from ``path``: yields the JSON of each event's ``data``."""
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.timeout)  # streams are long
        for attempt in (1, 2):
            token = await self._ensure_token()
            headers = {"Accept": "text/event-stream", "Authorization": f"Bearer {token}"}
            try:
                async with self._http().get(self._url(path), params=_query(params),
                                            headers=headers, timeout=timeout) as response:
                    if response.status == 401 and attempt == 1:
                        self._forget(token)
                        continue
                    if response.status >= 300:
                        _result(response.status, _decode(response, await response.text()))
                    async for data in _sse_data(response.content):
                        try:
                            yield json.loads(data)
                        except ValueError:
                            raise ApiError(response.status, "bad_response",
                                           f"{path} sent an event that is not JSON") from None
                    return
            except (TimeoutError, aiohttp.ClientError) as exc:
                raise self._unreachable(exc) from None

    async def _ensure_token(self) -> str:
        async with self._login_lock:
            if self._token is None:
                status, body = await self._send("POST", LOGIN_PATH, json={
                    "clientId": self.client_id, "clientSecret": self._client_secret})
                answer = _result(status, body)
                token = answer.get("accessToken") if isinstance(answer, dict) else None
                if not isinstance(token, str):
                    raise ApiError(status, "bad_response", f"{self.base_url} answered the login "
                                   "without an accessToken: is it hooksim?")
                self._token = token
            return self._token

    def _forget(self, token: str) -> None:
        if self._token == token:  # another request may already have logged in again
            self._token = None

    async def _send(self, method: str, path: str, *, token: str | None = None, json: Any = None,
                    params: Mapping[str, Any] | None = None) -> tuple[int, Any]:
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        try:
            async with self._http().request(method, self._url(path), json=json,
                                            params=_query(params), headers=headers) as response:
                return response.status, _decode(response, await response.text())
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise self._unreachable(exc) from None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:  # created lazily: a session needs a running event loop
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    def _url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def _unreachable(self, exc: BaseException) -> ApiError:
        if isinstance(exc, asyncio.TimeoutError):
            return ApiError(0, "timeout", f"hooksim at {self.base_url} did not answer within "
                            f"{self.timeout:g} s")
        if isinstance(exc, aiohttp.ClientConnectorError):
            return ApiError(0, "connection_failed", f"cannot reach hooksim at {self.base_url}: "
                            "start `hooksim serve` in this folder, or point the CLI at the "
                            f"running server with --server URL or {URL_VARIABLE}=URL")
        return ApiError(0, "connection_failed", f"the connection to hooksim at {self.base_url} "
                        f"failed: {exc}")


def find_server(settings: Settings, base_url: str | None = None,
                credentials_file: str | None = None) -> tuple[str, FileCredentials]:
    """The server's base URL and the API client's credentials: ``base_url`` (``--server``, or
    the HOOKSIM_URL variable), else the server started from this folder (its runtime file, which
    also names its credentials file), else server.host:server.port. UsageError (exit 2) for a
    URL that is not http(s) or a missing or unreadable credentials file."""
    running = None if base_url else read_runtime()
    if running is not None:   # a server started from this folder, on whatever port
        base_url = running["url"]
        credentials_file = credentials_file or running.get("credentialsFile")
    credentials = credentials_of(settings, credentials_file)
    base_url = base_url or default_base_url(settings.server)
    if not base_url.startswith(("http://", "https://")):
        raise UsageError(f"--server: expected http://HOST:PORT, got {base_url!r}")
    return base_url, credentials


def credentials_of(settings: Settings, credentials_file: str | None = None) -> FileCredentials:
    """The API client's id and secret from the credentials file (``--credentials`` or
    ``auth.credentials_file``); :class:`UsageError` (exit 2) if it is missing or unreadable."""
    path = Path(credentials_file or settings.auth.credentials_file).expanduser()
    try:
        return read_credentials(path)
    except FileNotFoundError:
        raise UsageError(f"no credentials file at {path}: start `hooksim serve` first or pass "
                         "--server/--credentials") from None
    except CredentialsFileError as exc:
        raise UsageError(str(exc)) from None


def default_base_url(server: ServerSettings) -> str:
    """``http://host:port`` of a server started with these settings (wildcard binds -> loopback)."""
    if server.port == 0:
        raise UsageError("server.port is 0 (any free port), so the server's URL is unknown: "
                         "pass --server with the URL `hooksim serve` printed")
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(server.host, server.host)
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{server.port}"


def exit_code(error: ApiError) -> int:
    """2 if the user must change something (command, credentials, start the server), else 1."""
    return 2 if error.status in _USAGE_STATUSES else 1


def run_api_command(settings: Settings, action: Callable[[ApiClient], Awaitable[T]], *,
                    url: str | None = None, credentials: str | None = None) -> T:
    """Run ``action(client)`` against the server and return its result, for CLI commands.

    ``url`` and ``credentials`` are the ``--server``/``--credentials`` options (see
    ``hooksim.commands.common.add_api_options``). An :class:`ApiError` becomes a
    :class:`UsageError` carrying its detail: exit code 2 when no answer came back (server not
    running, timeout) or the answer says the request itself must change (400, 401, 403, 413,
    422, 429); exit code 1 for any other answer (404 not found, 409 conflict, 5xx).
    """
    import os

    url = url or os.environ.get(URL_VARIABLE) or None
    client = ApiClient.from_settings(settings, url, credentials_file=credentials)

    async def main() -> T:
        async with client:
            return await action(client)

    try:
        return asyncio.run(main())
    except ApiError as exc:
        raise UsageError(str(exc), exit_code=exit_code(exc)) from None


def _query(params: Mapping[str, Any] | None) -> dict[str, str] | None:
    """Query values as text: None dropped, booleans as true/false (aiohttp refuses both)."""
    if params is None:
        return None
    return {key: (("true" if value else "false") if isinstance(value, bool) else str(value))
            for key, value in params.items() if value is not None}


def _decode(response: aiohttp.ClientResponse, text: str) -> Any:
    if not text:
        return None
    if response.content_type != "application/json":
        return text
    try:
        return json.loads(text)
    except ValueError:
        raise ApiError(response.status, "bad_response",
                       f"{response.url.path} answered with invalid JSON") from None


def _result(status: int, body: Any) -> Any:
    """``body`` if ``status`` is 2xx, else raise the answer as an ApiError."""
    if 200 <= status < 300:
        return body
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        raise ApiError(status, body["error"], str(body.get("detail") or body["error"]))
    text = body.strip()[:200] if isinstance(body, str) else ""
    raise ApiError(status, f"http_{status}", text or f"HTTP {status}")


async def _sse_data(content: aiohttp.StreamReader) -> AsyncIterator[str]:
    """The ``data`` of each server-sent event (several data lines joined by newlines).

    Lines are split here rather than with ``readline`` so events larger than aiohttp's line
    limit (order payloads exceed 600 KB) still arrive.
    """
    buffer = b""
    data: list[str] = []
    async for chunk in content.iter_any():
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for raw in lines:
            line = raw.rstrip(b"\r").decode("utf-8", errors="replace")
            if not line:
                if data:
                    yield "\n".join(data)
                    data = []
                continue
            field, _, value = line.partition(":")
            if field == "data":
                data.append(value[1:] if value.startswith(" ") else value)
