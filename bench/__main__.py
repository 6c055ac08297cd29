"""``python -m bench [--quick] [--only NAME ...]``: measure, print the table, write JSON.

Exit status 1 when a measured target is missed (FAIL), 0 otherwise (N/A rows say why).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback

from bench.harness import RESULTS, Config, Row, ensure_tools, print_table, write_json

FIGURES = {   # name -> module; run in this order
    "receiver": "bench.receiver_rate",          # two rows: vs bare aiohttp, vs adnanh/webhook
    "receiver-repeated": "bench.receiver_repeated",   # one event sent again and again
    "dispatcher": "bench.dispatcher_rate",
    "predict": "bench.predict",
    "receiver-memory": "bench.receiver_memory",
    "dispatcher-memory": "bench.dispatcher_memory",
    "deliveries-api": "bench.deliveries_api",
    "message-store": "bench.message_store",     # 1 000 000 messages: duplicates, API, retention
    "scale": "bench.scale",                     # 1, 2, 4 dispatcher processes on PostgreSQL
    "exact-time": "bench.exact_time",           # the same verdict at any time scale and load
    "cli-startup": "bench.cli_startup",         # --help, sign, verify, secret: < 0.3 s each
    "fallback-api": "bench.fallback_api",       # Toast's paths over 20 000 orders events
}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1 round of 3 s: a smoke test")
    parser.add_argument("--only", action="append", choices=list(FIGURES), metavar="NAME",
                        help=f"run only this figure (repeatable): {', '.join(FIGURES)}")
    parser.add_argument("--rounds", type=int,
                        help="rounds per figure (default 3; the dispatcher's and the receiver's 5)")
    parser.add_argument("--seconds", type=int, help="seconds per load round (default 6)")
    args = parser.parse_args()
    config = Config(rounds=1, seconds=3, quick=True) if args.quick else Config()
    if args.rounds:
        config.rounds, config.rounds_given = args.rounds, True
    if args.seconds:
        config.seconds = args.seconds
    ensure_tools()
    rows: list[Row] = []
    started = time.monotonic()
    for name in args.only or FIGURES:
        print(f"[{name}]", flush=True)
        try:
            rows += importlib.import_module(FIGURES[name]).run(config)
        except Exception as exc:   # one broken figure must not hide the others
            traceback.print_exc()
            rows.append(Row(name, "error", "-", None, "-", False, note=f"{type(exc).__name__}: {exc}"))
    print()
    print(print_table(rows))
    path = RESULTS / ("latest-partial.json" if args.only or args.quick else "latest.json")
    write_json(rows, config, path)
    print(f"\n{len(rows)} rows in {time.monotonic() - started:.0f} s; written to {path}")
    return 1 if any(row.passed is False for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
