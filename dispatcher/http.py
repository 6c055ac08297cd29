"""One webhook POST, the way the platform makes it: the single place aiohttp errors become Outcomes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp

from dispatcher.policy import Outcome, OutcomeKind
from dispatcher.settings import DispatcherSettings


def client_timeout(settings: DispatcherSettings) -> aiohttp.ClientTimeout:
    """2 s to connect, 2 s between reads; the total bounds sending plus waiting (spec section 5)."""
    return aiohttp.ClientTimeout(
        total=settings.connect_timeout + 2 * settings.read_timeout,
        connect=settings.connect_timeout,
        sock_connect=settings.connect_timeout,
        sock_read=settings.read_timeout,
    )


def new_session(settings: DispatcherSettings) -> aiohttp.ClientSession:
    """The dispatcher's one ClientSession: bounded connections, explicit timeouts, no cookies."""
    connector = aiohttp.TCPConnector(limit=settings.connection_limit, limit_per_host=0)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=client_timeout(settings),
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
    )


@dataclass(frozen=True)
class Response:
    outcome: Outcome
    excerpt: str   # the first bytes of the response body, decoded leniently


class HttpSender:
    def __init__(self, session: aiohttp.ClientSession, excerpt_bytes: int = 512) -> None:
        self._session = session
        self._excerpt_bytes = excerpt_bytes

    async def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> Response:
        started = time.perf_counter()

        def elapsed() -> float:
            return (time.perf_counter() - started) * 1000

        try:
            async with self._session.post(url, data=body, headers=headers,
                                          allow_redirects=False) as resp:
                excerpt = await resp.content.read(self._excerpt_bytes)
                outcome = Outcome(OutcomeKind.HTTP, resp.status, elapsed(), resp.reason or "")
                return Response(outcome, excerpt.decode("utf-8", "replace"))
        except (asyncio.TimeoutError, aiohttp.ServerTimeoutError) as exc:
            return _failed(OutcomeKind.TIMEOUT, elapsed(), f"timed out: {type(exc).__name__}")
        except aiohttp.ClientConnectorError as exc:
            return _failed(OutcomeKind.CONNECT_ERROR, elapsed(), f"cannot connect: {exc.os_error}")
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
            return _failed(OutcomeKind.CONNECT_ERROR, elapsed(), f"connection lost: {exc}")
        except aiohttp.ClientError as exc:
            return _failed(OutcomeKind.ERROR, elapsed(), f"{type(exc).__name__}: {exc}")
        except (ValueError, OSError) as exc:   # e.g. an URL aiohttp cannot use
            return _failed(OutcomeKind.ERROR, elapsed(), f"{type(exc).__name__}: {exc}")


def _failed(kind: OutcomeKind, latency_ms: float, detail: str) -> Response:
    return Response(Outcome(kind, None, latency_ms, detail[:300]), "")
