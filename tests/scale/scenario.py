"""The scale scenario: five subscriptions, 5 000 events on a platform-time schedule, two faulty
endpoints; what it must end with, and how a run's outcome is read from the database.

Events are written to the outbox before the clock reaches them, each due at its own platform
time (``created_at``), so every run gets the same stream whatever process inserts it or how
many deliver it. The back-off rules are chosen so that the transitions follow from the rules
alone, with margins of minutes of platform time (seconds of wall time at ``TIME_SCALE``)
around every decision; scheduling jitter, a killed dispatcher's lease or slower delivery
move timestamps, never which transition happens:

- ``flaky`` (partner) answers 500 for the stream's first ``FLAKY_SECONDS`` only: its 10th
  error (about 25 s in) pauses it, the faults are over long before the 300 s pause ends, so
  it resumes and is never paused again: PAUSED, RESUMED.
- ``dead`` (restaurant_availability) always answers 500: paused at its 10th error, paused
  again by the first error after each resume (the 30-minute error window still holds 10),
  and the third pause within the 30-minute pause window is the stop: PAUSED, RESUMED,
  PAUSED, RESUMED, STOPPED, about 650 s in, long before its events end.
- the three others always answer 200: no transition, every delivery SUCCESS.

Errors and pauses in the windows saturate at the thresholds (dispatcher.backoff), so each
transition's counts are fixed too.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass

import signing
from dispatcher import events as catalogue
from dispatcher.backoff import PRESETS
from dispatcher.clock import ScaledClock
from dispatcher.service import DispatcherService
from dispatcher.settings import DispatcherSettings
from storage.deliveries import DeliveryStore, EventRecord, NewDelivery

TIME_SCALE = 60.0
STREAM_SECONDS = 1500.0        # platform seconds the events are spread over (25 s wall)
LEAD_SECONDS = 240.0           # first event this far after the events are written (4 s wall)
FLAKY_SECONDS = 120.0          # flaky's 500s, from the first event on
SECRET = "scale-test-secret"
# (category, receiver index, endpoint, events); one subscription per category, so an event
# GUID names its delivery, and the receivers' rows can be matched to deliveries.
SUBSCRIPTIONS = (
    ("menus", 0, "menus", 1500),
    ("stock", 1, "stock", 1500),
    ("restaurant_availability_toggle", 0, "toggle", 1000),
    ("partner", 0, "flaky", 600),
    ("restaurant_availability", 1, "dead", 400),
)
EVENTS = sum(count for *_, count in SUBSCRIPTIONS)
HEALTHY = ("menus", "stock", "toggle")

# HOOKSIM_* for every process of a run (the receivers' and the dispatchers' alike).
ENV = {
    "HOOKSIM_CLOCK_TIME_SCALE": str(TIME_SCALE),
    "HOOKSIM_BACKOFF_ERRORS_TO_PAUSE": "10",
    "HOOKSIM_BACKOFF_ERROR_WINDOW_SECONDS": "1800",
    "HOOKSIM_BACKOFF_PAUSE_SECONDS": "300",
    "HOOKSIM_BACKOFF_PAUSES_TO_STOP": "3",
    "HOOKSIM_BACKOFF_PAUSE_WINDOW_SECONDS": "1800",
    # A killed dispatcher's leases lapse after (1 + 2 x 1 + 5) s wall: 480 s platform.
    "HOOKSIM_DISPATCHER_CONNECT_TIMEOUT": "1.0",
    "HOOKSIM_DISPATCHER_READ_TIMEOUT": "1.0",
    "HOOKSIM_DISPATCHER_POLL_INTERVAL": "0.1",
    "HOOKSIM_RECEIVER_AUTO_ENDPOINTS": "true",
    "HOOKSIM_RECEIVER_SECRETS": f'["{SECRET}"]',
    "HOOKSIM_RECEIVER_ENDPOINTS": '[{name = "flaky"}, {name = "dead", faults = {status = 500}}]',
}

# Per subscription endpoint: (kind, errors in window, pauses in window) in order.
EXPECTED_TRANSITIONS = {
    **{name: [] for name in HEALTHY},
    "flaky": [("PAUSED", 10, 1), ("RESUMED", 10, 1)],
    "dead": [("PAUSED", 10, 1), ("RESUMED", 10, 1), ("PAUSED", 10, 2), ("RESUMED", 10, 2),
             ("STOPPED", 10, 3)],
}
# The final statuses each endpoint's deliveries may have.
ALLOWED_STATUSES = {**{name: {"SUCCESS"} for name in HEALTHY},
                    "flaky": {"SUCCESS", "NOT_SENT"}, "dead": {"NOT_SENT", "FAILURE"}}


async def write_scenario(db, receivers: list[str], now: float, seed: int = 7) -> float:
    """Create the subscriptions (URLs on ``receivers``, base URLs) and the events, due from
    ``now + LEAD_SECONDS`` on; returns that first due time (platform seconds)."""
    service = DispatcherService(db, ScaledClock(), DispatcherSettings(), PRESETS["current"])
    rng = random.Random(seed)
    restaurants = catalogue.simulated_restaurants(12, seed)
    start = now + LEAD_SECONDS
    batch = []
    for category, receiver, endpoint, count in SUBSCRIPTIONS:
        sub = await service.create_subscription(
            event_category=category, url=f"{receivers[receiver]}/hooks/{endpoint}",
            notification_email=f"{endpoint}@example.com", name=endpoint, secret=SECRET)
        for i in range(count):
            at = start + STREAM_SECONDS * (i + 0.5) / count
            event = catalogue.make_event(category, at=at, rng=rng, restaurants=restaurants)
            body = event.body()
            batch.append((EventRecord(event.guid, category, event.event_type,
                                      event.restaurant_guid, event.timestamp, body, at),
                          [NewDelivery(str(uuid.uuid4()), sub.guid, event.route_key,
                                       signing.sign(SECRET, body, event.timestamp))]))
    await DeliveryStore(db).add_events(batch)
    return start


@dataclass
class Outcome:
    """What one run ended with, read from its database."""

    statuses: dict[str, Counter]                  # endpoint -> Counter of delivery statuses
    transitions: dict[str, list[tuple[str, int, int]]]
    notifications: dict[str, list[str]]           # endpoint -> kinds of the emails queued
    # (endpoint, event guid, attempt number) -> user agents of the requests that carried it
    sent: dict[tuple[str, str, str], list[str]]
    succeeded_not_received: list[str]             # SUCCESS deliveries no 2xx arrived for
    attempts_recorded_twice: int                  # (delivery, series, number) rows twice


async def read_outcome(db) -> Outcome:
    async with db.read() as conn:
        subs = {row[0]: row[1] for row in await (await conn.execute(
            "SELECT guid, name FROM subscription")).fetchall()}
        statuses: dict[str, Counter] = defaultdict(Counter)
        for sub, status, n in await (await conn.execute(
                "SELECT subscription_guid, status, count(*) FROM delivery "
                "GROUP BY subscription_guid, status")).fetchall():
            statuses[subs[sub]][status] = n
        transitions: dict[str, list] = {name: [] for name in subs.values()}
        for sub, kind, errors, pauses in await (await conn.execute(
                "SELECT subscription_guid, kind, errors_in_window, pauses_in_window "
                "FROM backoff_transition ORDER BY at, id")).fetchall():
            transitions[subs[sub]].append((kind, errors, pauses))
        notifications: dict[str, list] = {name: [] for name in subs.values()}
        for sub, kind in await (await conn.execute(
                "SELECT subscription_guid, kind FROM notification ORDER BY id")).fetchall():
            notifications[subs[sub]].append(kind)
        sent: dict[tuple, list] = defaultdict(list)
        received_ok = set()
        for endpoint, guid, headers, status in await (await conn.execute(
                "SELECT endpoint, event_guid, headers, status FROM receiver_message")).fetchall():
            named = {k.lower(): v for k, v in json.loads(headers)}
            sent[(endpoint, guid, named.get("toast-attempt-number"))].append(
                named.get("user-agent", ""))
            if status is not None and 200 <= status < 300:
                received_ok.add((endpoint, guid))
        missing = [f"{subs[sub]}/{guid}" for sub, guid in await (await conn.execute(
            "SELECT subscription_guid, event_guid FROM delivery WHERE status = 'SUCCESS'"
        )).fetchall() if (subs[sub], guid) not in received_ok]
        twice = (await (await conn.execute(
            "SELECT count(*) FROM (SELECT delivery_id FROM attempt "
            "GROUP BY delivery_id, series, number HAVING count(*) > 1) AS t")).fetchone())[0]
    return Outcome(dict(statuses), transitions, notifications, dict(sent), missing, twice)


async def pending(db) -> int:
    async with db.read() as conn:
        row = await (await conn.execute(
            "SELECT count(*) FROM delivery WHERE status = 'PENDING'")).fetchone()
    return row[0]


async def received(db) -> int:
    async with db.read() as conn:
        row = await (await conn.execute("SELECT count(*) FROM receiver_message")).fetchone()
    return row[0]
