"""python -m examples.polling_integration --toast http://127.0.0.1:8080 --secret S [--secret S2]

Serves POST /webhook and GET /state on --port, and polls hooksim's fallback APIs every
--poll-seconds with the API client's credentials (the file `hooksim serve` writes)."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

import aiohttp
from aiohttp import web

from examples.polling_integration.integration import Integration, make_app


async def main(args: argparse.Namespace) -> None:
    credentials = json.loads(Path(args.credentials).read_text())
    integration = Integration(args.toast, credentials["clientId"], credentials["clientSecret"],
                              args.secret)
    runner = web.AppRunner(make_app(integration))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", args.port).start()
    print(f"integration on http://127.0.0.1:{args.port}/webhook (state: /state)", flush=True)
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                await integration.poll_once(session)
            except (aiohttp.ClientError, RuntimeError) as exc:   # Toast: back off, try later
                print(f"poll failed: {exc}", flush=True)
            await asyncio.sleep(args.poll_seconds)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m examples.polling_integration")
    parser.add_argument("--toast", default="http://127.0.0.1:8080", help="hooksim's base URL")
    parser.add_argument("--credentials", default="hooksim-credentials.json")
    parser.add_argument("--secret", action="append", default=[], help="a subscription's secret")
    parser.add_argument("--port", type=int, default=9090)
    parser.add_argument("--poll-seconds", type=float, default=60.0)
    try:
        asyncio.run(main(parser.parse_args()))
    except KeyboardInterrupt:
        pass
