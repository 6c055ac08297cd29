"""Schemathesis hooks for tests/conformance (loaded through SCHEMATHESIS_HOOKS).

A valid POST /api/events may ask for up to 10,000 events; one such request, with the dozens of
subscriptions the run has created by then, makes hundreds of thousands of deliveries and took
over a minute on the shared machine. That is a load test (bench/), not conformance: a valid
count above 100 is sent as 100. Counts the schema forbids (0, 10,001, 2.5, "x") are untouched,
so the server's refusals are still checked.

Likewise a valid POST /api/streams may ask for 1 000 events a second for 30 days, which would keep
making events in the background for the rest of the run: a valid stream is sent at most 1 event
a second for at most a minute (the refusals of invalid ones are still checked).
"""

from __future__ import annotations

from typing import Any

import schemathesis

EVENTS_PER_REQUEST = 100
_MAX_COUNT = 10_000   # docs/openapi.yaml's maximum


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@schemathesis.hook
def map_body(context: Any, body: Any) -> Any:
    if not isinstance(body, dict):
        return body
    if context.operation.path == "/api/streams":
        rate, duration = body.get("rate"), body.get("duration")
        if _number(rate) and _number(duration) and 0 < rate <= 1000 and 0 < duration <= 2_592_000:
            return {**body, "rate": min(rate, 1.0), "duration": min(duration, 60.0)}
        return body
    if context.operation.path != "/api/events":
        return body
    count = body.get("count")
    if (isinstance(count, int | float) and not isinstance(count, bool)
            and float(count).is_integer() and EVENTS_PER_REQUEST < count <= _MAX_COUNT):
        return {**body, "count": EVENTS_PER_REQUEST}
    return body
