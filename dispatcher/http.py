"""One webhook POST, the way the platform makes it: the single place aiohttp errors become Outcomes."""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp

from dispatcher.policy import Outcome, OutcomeKind
from dispatcher.settings import DispatcherSettings


# aiohttp adds ``Accept: */*`` by itself; Toast sends no Accept header (spec section 3).
SKIP_AUTO_HEADERS = ("Accept",)


def client_timeout(settings: DispatcherSettings) -> aiohttp.ClientTimeout:
    """2 s to connect, 2 s without progress while sending or waiting (spec section 5).

    These are socket timeouts, as Toast describes them: an endpoint that keeps trickling bytes is
    not cut off. ``attempt_total_timeout`` caps a whole attempt when set (0: no cap, like Toast).
    """
    return aiohttp.ClientTimeout(
        total=settings.attempt_total_timeout or None,
        connect=settings.connect_timeout,
        sock_connect=settings.connect_timeout,
        sock_read=settings.read_timeout,
    )


def new_session(settings: DispatcherSettings) -> aiohttp.ClientSession:
    """The dispatcher's one ClientSession: bounded connections, explicit timeouts, no cookies.

    Without ``keep_alive`` every request opens its own connection and closes it after the answer
    (Toast sends ``Connection: close``), so the connect timeout applies to every attempt.
    """
    connector = aiohttp.TCPConnector(limit=settings.connection_limit, limit_per_host=0,
                                     force_close=not settings.keep_alive)
    return aiohttp.ClientSession(
        connector=connector,
        timeout=client_timeout(settings),
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
        skip_auto_headers=SKIP_AUTO_HEADERS,
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
                excerpt = _decoded(excerpt, resp.headers.get("Content-Encoding", ""), self._excerpt_bytes)
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


def _decoded(excerpt: bytes, encoding: str, limit: int) -> bytes:
    """The first bytes of a gzip or deflate answer, readable: the platform sends
    ``Accept-Encoding: gzip,deflate``, so endpoints may compress. Only the excerpt is inflated (at
    most ``limit`` bytes out, so a compression bomb costs nothing); what cannot be is kept as is."""
    encoding = encoding.strip().lower()
    if encoding not in ("gzip", "x-gzip", "deflate"):
        return excerpt
    for wbits in ((16 + zlib.MAX_WBITS,) if "gzip" in encoding else (zlib.MAX_WBITS, -zlib.MAX_WBITS)):
        try:
            return zlib.decompressobj(wbits).decompress(excerpt, limit)
        except zlib.error:
            continue
    return excerpt


def _failed(kind: OutcomeKind, latency_ms: float, detail: str) -> Response:
    return Response(Outcome(kind, None, latency_ms, detail[:300]), "")
