"""One dispatcher measurement, run pinned to core 1 by bench/dispatcher_rate.py; prints JSON.

``--mode hooksim``: hooksim's own dispatcher, assembled as ``hooksim serve`` assembles it
(DispatcherService + DeliveryEngine + HttpSender, default settings, the collector tuned as
``serve`` tunes it once started (``server.gc_young_threshold``), SQLite with
synchronous=FULL, logs configured as in ``serve`` and written to stderr, and serve's default
event loop: uvloop where installed): ``send_events`` makes,
signs and commits the events with their deliveries (the outbox), the engine delivers them and
records every attempt; the clock stops when every delivery is recorded SUCCESS.

``--mode reference``: a plain loop with one aiohttp ClientSession and the same concurrency (64)
that signs each of the same bodies and POSTs it over the same kind of connection as hooksim's
defaults (a new one per request, closed after the answer, as the platform does), no storage,
on asyncio's loop (``--loop uvloop``: the same on uvloop, shown beside it).

Besides the rate, each mode reports the CPU time (user + system, every thread of the process:
``time.process_time``) it used per event over the measured part: unlike the rate, that hardly
moves when other work shares the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

import signing
from dispatcher.backoff import rules_from_settings
from dispatcher.clock import ScaledClock
from dispatcher import events as catalogue
from dispatcher.engine import DeliveryEngine
from dispatcher.http import HttpSender, new_session
from dispatcher.service import DispatcherService
from dispatcher.settings import BackoffSettings, DispatcherSettings
from hooksim.logs import configure_logging
from hooksim.runner import loop_factory, tune_gc
from hooksim.settings import ServerSettings
from storage.deliveries import DeliveryStore
from storage.sqlite import open_database

CHUNK = 1000   # events per send_events call (one API request's worth)


async def hooksim(url: str, count: int, db_path: Path) -> tuple[float, float]:
    settings = DispatcherSettings()
    rules = rules_from_settings(BackoffSettings())
    clock = ScaledClock(1.0)
    db = await open_database(db_path)
    session = new_session(settings)
    engine = DeliveryEngine(DeliveryStore(db), HttpSender(session, settings.response_excerpt_bytes),
                            clock, settings, rules)
    service = DispatcherService(db, clock, settings, rules, wake=engine.wake)
    sub = await service.create_subscription(event_category="menus", url=url,
                                            notification_email="bench@example.com")
    await engine.start()
    tune_gc(ServerSettings().gc_young_threshold)   # as `hooksim serve` does once started
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(0, count, CHUNK):
        await service.send_events(category="menus", count=CHUNK)
    # Done when nothing is PENDING. Asked only when every attempt started so far is recorded
    # (drain: an Event, no query; an attempt in flight means its delivery is still PENDING),
    # through the due index (status_counts would count every row); every delivery must be
    # SUCCESS at the end.
    while True:
        await engine.drain()
        if not await service.deliveries.any_pending():
            break
        await asyncio.sleep(0.001)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    counts = await service.deliveries.status_counts(sub.guid)
    await engine.stop(timeout=5)
    await session.close()
    await db.close()
    if counts != {"SUCCESS": count}:
        raise SystemExit(f"unexpected delivery statuses: {counts}")
    return count / elapsed, cpu


async def reference(url: str, count: int) -> tuple[float, float]:
    import random
    settings = DispatcherSettings()
    rng = random.Random(0)
    restaurants = catalogue.simulated_restaurants(settings.restaurants, settings.seed)
    # The same kind of bodies, made before the clock starts (hooksim makes them inside it).
    events = [catalogue.make_event("menus", at=time.time(), rng=rng, restaurants=restaurants)
              for _ in range(count)]
    bodies = [(e.body(), e.timestamp, e.event_type) for e in events]
    secret = signing.new_secret()
    queue: asyncio.Queue = asyncio.Queue()
    for item in bodies:
        queue.put_nowait(item)
    ok = 0
    # The same wire as hooksim's defaults: the platform opens a connection per request and
    # closes it (dispatcher.keep_alive = false, Connection: close), so the reference does too;
    # comparing that with a kept-alive loop would measure TCP set-up, not hooksim.
    keep_alive = DispatcherSettings().keep_alive
    connector = aiohttp.TCPConnector(limit=100, force_close=not keep_alive)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def worker() -> None:
            nonlocal ok
            while not queue.empty():
                body, timestamp, event_type = queue.get_nowait()
                headers = {"Content-Type": "application/json; charset=utf-8",
                           "Toast-Signature": signing.sign(secret, body, timestamp),
                           "Toast-Event-Type": event_type, "Toast-Event-Category": "menus",
                           "Toast-Attempt-Number": "1", "User-Agent": settings.user_agent}
                async with session.post(url, data=body, headers=headers) as resp:
                    await resp.content.read(512)
                    ok += resp.status == 200
        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(settings.concurrency)))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    if ok != count:
        raise SystemExit(f"only {ok} of {count} answered 200")
    return count / elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=("hooksim", "reference"), required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--count", type=int, default=5000)
    # hooksim: the loop `hooksim serve` runs (server.event_loop = "auto": uvloop where installed);
    # the reference: asyncio's own loop, as the issue specifies it, or its uvloop twin.
    parser.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default=None)
    args = parser.parse_args()
    loop = args.loop or ("auto" if args.mode == "hooksim" else "asyncio")
    configure_logging("info", "json", stream=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp, asyncio.Runner(
            loop_factory=loop_factory(loop)) as runner:
        if args.mode == "hooksim":
            rate, cpu = runner.run(hooksim(args.url, args.count, Path(tmp) / "dispatcher.db"))
        else:
            rate, cpu = runner.run(reference(args.url, args.count))
    print(json.dumps({"mode": args.mode, "loop": loop, "rate": rate, "count": args.count,
                      "cpu_us": cpu / args.count * 1e6}))


if __name__ == "__main__":
    main()
