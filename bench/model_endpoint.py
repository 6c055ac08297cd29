"""A webhook endpoint that behaves like a ``predict`` model, in a process of its own:
``python -m bench.model_endpoint PORT STATUS [--latency-ms N] [--failing 0.3 --seed 7]``.

Answers STATUS after the latency; with ``--failing`` it answers 500 to that share of requests and
STATUS to the rest, drawn per path in arrival order from a generator seeded with the path (so
each subscription at its own ``/hook/NAME`` gets the same answers in the same order, however its
attempts interleave with other subscriptions').
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
from datetime import datetime

from aiohttp import web


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("status", type=int)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--failing", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--by-event", type=float, metavar="PERIOD", default=0.0,
                        help="decide each answer from the event itself (path, envelope timestamp, "
                        "attempt number), not arrival order, and answer after 3 + 4 x (event "
                        "number mod 7) + attempt ms, events being PERIOD seconds apart: runs whose "
                        "events carry the same timestamps get the same answers however their "
                        "attempts interleave, and no two attempts a window apart answer in the "
                        "same time, so no decision rests on a millisecond of jitter")
    args = parser.parse_args()
    draws: dict[str, random.Random] = {}

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        latency = args.latency_ms
        if args.by_event:
            stamp = json.loads(body)["timestamp"]
            attempt = int(request.headers["Toast-Attempt-Number"])
            draw = random.Random(f"{args.seed}{request.path}{stamp}/{attempt}")
            number = int(datetime.fromisoformat(stamp).timestamp() // args.by_event)
            latency = 3 + 4 * (number % 7) + attempt
        else:
            draw = draws.setdefault(request.path, random.Random(f"{args.seed}{request.path}"))
        failed = args.failing and draw.random() < args.failing
        if latency:
            await asyncio.sleep(latency / 1000)
        return web.Response(status=500 if failed else args.status)

    app = web.Application()
    app.router.add_post("/hook", handle)
    app.router.add_post("/hook/{name}", handle)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
