"""The client side of the API latency figures (deliveries_api, fallback_api, message_store):
standard library only, imported by the short scripts those figures run pinned to core 1
(``python -c``, from the repository's root), so the timing loop and its summary are written
once."""

from __future__ import annotations

import http.client
import json
import statistics
import time
from collections.abc import Callable
from typing import Any


def connect(port: int) -> http.client.HTTPConnection:
    """One kept-alive connection to the server under test."""
    return http.client.HTTPConnection("127.0.0.1", port)


def call(conn: http.client.HTTPConnection, method: str, path: str, headers: dict[str, str],
         body: Any = None) -> tuple[float, int, bytes]:
    """(milliseconds, status, body) of one request, the whole answer read."""
    started = time.perf_counter()
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers=headers)
    response = conn.getresponse()
    data = response.read()
    return (time.perf_counter() - started) * 1000, response.status, data


def timed(conn: http.client.HTTPConnection, method: str, path: str, headers: dict[str, str],
          n: int, check: Callable[[int, Any], None]) -> list[float]:
    """``n`` requests' times; ``check(status, decoded body)`` asserts each answer."""
    times = []
    for _ in range(n):
        ms, status, data = call(conn, method, path, headers)
        check(status, json.loads(data))
        times.append(ms)
    return times


def report(times_by_kind: dict[str, list[float]],
           extra: dict[str, dict[str, Any]] | None = None) -> None:
    """Print what the figure reads back: per kind, the median and the slowest request, with
    ``extra[kind]``'s fields beside them."""
    print(json.dumps({kind: {"median_ms": statistics.median(times), "max_ms": max(times),
                             **(extra or {}).get(kind, {})}
                      for kind, times in times_by_kind.items()}))
