"""`hooksim receive` (a standalone receiver) and `hooksim receiver faults|tail|export` (a running
one)."""

from __future__ import annotations

import argparse
import sys
from typing import Any
from urllib.parse import quote

from hooksim.app import build_receiver_app
from hooksim.client import ApiClient, run_api_command
from hooksim.commands.common import (
    add_api_options,
    add_config_options,
    add_export_options,
    call_api,
    run_server,
    settings_from_args,
    write_export,
)
from hooksim.errors import UsageError

MARKS = {True: "✓", False: "✗", None: "·"}  # verified, rejected, nothing to check against


def register(commands: argparse._SubParsersAction) -> None:
    receive = commands.add_parser(
        "receive",
        help="run a standalone receiver to point webhooks at",
        description="Run the receiver alone: POST /hooks/{name} verifies Toast-Signature with "
        "--secret, stores every request and answers; the inspection API is under /api. Any "
        "{name} is accepted unless --only-configured. Prints its URLs first.",
    )
    add_config_options(receive)
    receive.add_argument("--host", help="address to bind (default server.host, 127.0.0.1)")
    receive.add_argument("--port", type=int, help="port (default server.port; 0 = any free)")
    receive.add_argument("--secret", action="append", default=[], metavar="S",
                         help="secret the endpoints accept (repeatable, for rotation)")
    receive.add_argument("--db", metavar="PATH", help="SQLite database file (default storage.path)")
    receive.add_argument("--forward-to", metavar="URL",
                         help="re-send every accepted message to this URL (your own app)")
    receive.add_argument("--only-configured", action="store_true",
                         help="404 for names not in [[receiver.endpoints]] (no auto endpoints)")
    receive.set_defaults(handler=_receive)

    group = commands.add_parser(
        "receiver", help="control a running receiver: faults, tail, export",
        description="Talk to a running receiver (hooksim serve or hooksim receive) via its API.")
    actions = group.add_subparsers(dest="receiver_action", metavar="ACTION")
    actions.required = True

    faults = actions.add_parser(
        "faults", help="show or set an endpoint's injected faults",
        description="Without options, show NAME's faults. With options, set exactly those faults "
        "(the rest are switched off); phases play from now, in order. PHASE is "
        "ACTION[@RATE][:DURATION]: ACTION ok, hang, close or an HTTP status; e.g. --phase 500:2m "
        "--phase hang:30s --phase ok.")
    faults.add_argument("name", metavar="NAME", help="endpoint name")
    faults.add_argument("--status", type=int, help="answer this HTTP status")
    faults.add_argument("--failure-rate", type=float, metavar="R",
                        help="share of requests that fail, 0-1 (default: all, if a fault is set)")
    faults.add_argument("--delay-ms", type=int, metavar="N", help="add N ms before answering")
    faults.add_argument("--hang", action="store_true", help="never answer in time")
    faults.add_argument("--close", action="store_true", help="drop the connection unanswered")
    faults.add_argument("--phase", action="append", default=[], metavar="PHASE",
                        help="a schedule phase (repeatable), e.g. 500:120s")
    faults.add_argument("--clear", action="store_true", help="switch every fault off")
    faults.set_defaults(handler=_faults)

    tail = actions.add_parser(
        "tail", help="print messages as they arrive",
        description="Follow the receiver's messages, one line each: time, verified mark "
        f"({MARKS[True]} valid, {MARKS[False]} rejected, {MARKS[None]} not checked), status, "
        "endpoint, category/type, event GUID, and duplicate or fault notes. Ctrl-C stops.")
    tail.add_argument("--endpoint", help="only this endpoint's messages")
    tail.set_defaults(handler=_tail)

    export = actions.add_parser(
        "export", help="write every stored message to a file",
        description="Every stored message (newest first) with headers and exact body: JSON lines, "
        "CSV, or HAR 1.2 (each request as it arrived, and the status answered).")
    add_export_options(export, ("jsonl", "csv", "har"))
    export.add_argument("--endpoint", help="only this endpoint's messages")
    export.set_defaults(handler=_export)

    replay = actions.add_parser(
        "replay", help="send stored messages again to a URL, in the order they arrived",
        description="Replay the receiver's stored messages (say, real sandbox traffic that came "
        "in through a tunnel) to --to, one at a time in arrival order: byte-exact with their "
        "original headers and Toast-Signature, or re-signed with --secret. --speed 1 keeps the "
        "original spacing, 10 is ten times faster, max sends them back to back. One line per "
        "message; exit 0 if every one got a 2xx, 1 if not, 2 on bad usage.")
    replay.add_argument("--to", required=True, metavar="URL", help="where to send them")
    replay.add_argument("--from", dest="source", metavar="FILE",
                        help="a JSON-lines export (receiver export --format jsonl) instead of "
                        "the running receiver's messages")
    replay.add_argument("--endpoint", help="only this endpoint's messages")
    replay.add_argument("--secret", metavar="S",
                        help="re-sign every message with this secret (default: byte-exact)")
    replay.add_argument("--speed", default="1", metavar="N|max",
                        help="1: original spacing (default), N: N times faster, max: no waits")
    replay.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="how long each request may take")
    replay.set_defaults(handler=_replay)

    for parser in (faults, tail, export, replay):
        add_config_options(parser)
        add_api_options(parser)


def _receive(args: argparse.Namespace) -> int:
    overrides: dict[str, dict[str, Any]] = {"receiver": {"enabled": True}}
    if args.host:
        overrides.setdefault("server", {})["host"] = args.host
    if args.port is not None:
        overrides.setdefault("server", {})["port"] = args.port
    if args.db:
        overrides["storage"] = {"path": args.db}
    overrides["receiver"]["auto_endpoints"] = not args.only_configured
    if args.secret:
        overrides["receiver"]["secrets"] = args.secret
    if args.forward_to:
        overrides["receiver"]["forward_to"] = args.forward_to
    settings = settings_from_args(args, **overrides)
    receiver = settings.receiver

    def describe(base: str, app: Any) -> list[str]:
        names = ("any name" if receiver.auto_endpoints else
                 ", ".join(e.name for e in receiver.endpoints) or "none configured")
        lines = [f"hooksim receiver listening on {base}",
                 f"  hooks:    {base}/hooks/{{name}}  ({names})",
                 f"  messages: {base}/api/messages",
                 f"  database: {settings.storage.where()}"]
        if receiver.forward_to:
            lines.append(f"  forward:  {receiver.forward_to}")
        return lines

    return run_server(settings, build_receiver_app, describe)


def fault_request(args: argparse.Namespace) -> dict[str, Any] | None:
    """The PUT body for the options given, or None to only show the faults."""
    body: dict[str, Any] = {}
    for key, value in (("status", args.status), ("failureRate", args.failure_rate),
                       ("delayMs", args.delay_ms)):
        if value is not None:
            body[key] = value
    if args.hang:
        body["hang"] = True
    if args.close:
        body["close"] = True
    if args.phase:
        body["phases"] = args.phase
    if args.clear and body:
        raise UsageError("--clear switches every fault off; give it alone")
    return body if body or args.clear else None


def describe_endpoint(endpoint: dict[str, Any]) -> str:
    faults = endpoint["faults"]
    parts = []
    if faults["status"]:
        parts.append(f"status {faults['status']}")
    if faults["failureRate"]:
        parts.append(f"failure rate {faults['failureRate']:g}")
    if faults["delayMs"]:
        parts.append(f"delay {faults['delayMs']} ms")
    parts += [name for name in ("hang", "close") if faults[name]]
    if faults["phases"]:
        current = faults["currentPhase"]
        state = "over" if current is None else f"now phase {current + 1}"
        parts.append(f"phases {' -> '.join(faults['phases'])} ({state})")
    return f"{endpoint['name']}: {', '.join(parts) or 'no faults'}"


def _export(args: argparse.Namespace) -> int:
    answer = call_api(args, "GET", "/api/messages/export",
                      params={"format": args.format, "endpoint": args.endpoint})
    return write_export(answer, args.output)


def _faults(args: argparse.Namespace) -> int:
    body = fault_request(args)
    path = f"/api/receiver/endpoints/{quote(args.name, safe='')}"
    if body is None:
        endpoint = call_api(args, "GET", path)
    else:
        endpoint = call_api(args, "PUT", f"{path}/faults", json=body)
    print(describe_endpoint(endpoint))
    return 0


def tail_line(message: dict[str, Any]) -> str:
    """One line per message for `receiver tail`."""
    notes = []
    if message.get("duplicate"):
        notes.append(f"duplicate x{message.get('duplicateCount')}")
    if message.get("fault"):
        notes.append(f"fault: {message['fault']}")
    if not message.get("accepted") and message.get("reason"):
        notes.append(str(message["reason"]))
    status = message.get("status")
    kind = f"{message.get('category') or '-'}/{message.get('type') or '-'}"
    line = (f"{message.get('receivedAt')}  {MARKS.get(message.get('verified'), '?')} "
            f"{status if status is not None else '---'}  {message.get('endpoint')}  {kind}  "
            f"{message.get('eventGuid') or '-'}")
    return line + (f"  ({'; '.join(notes)})" if notes else "")


def _tail(args: argparse.Namespace) -> int:
    async def action(client: ApiClient) -> None:
        print(f"following {client.base_url}/api/messages/stream (Ctrl-C to stop)", file=sys.stderr)
        async for message in client.stream("/api/messages/stream",
                                           params={"endpoint": args.endpoint}):
            print(tail_line(message), flush=True)
        print("the server ended the stream", file=sys.stderr)

    run_api_command(settings_from_args(args), action, url=args.url, credentials=args.credentials)
    return 0


def _replay(args: argparse.Namespace) -> int:
    import asyncio

    from receiver.replay import ReplayError, parse_export, replay

    speed = _speed(args.speed)
    if not args.timeout > 0:
        raise UsageError(f"--timeout must be positive, got {args.timeout}")
    if not args.to.startswith(("http://", "https://")):
        raise UsageError(f"--to must be an http or https URL, got {args.to!r}")
    if args.source:
        try:
            with open(args.source, encoding="utf-8") as fh:
                lines = fh.read().splitlines()
        except OSError as exc:
            raise UsageError(f"cannot read {args.source}: {exc.strerror}") from None
    else:
        answer = call_api(args, "GET", "/api/messages/export",
                          params={"format": "jsonl", "endpoint": args.endpoint})
        lines = answer.splitlines() if isinstance(answer, str) else []
    try:
        messages = parse_export(lines)
        if args.source and args.endpoint:
            messages = [m for m in messages if m.endpoint == args.endpoint]
        mode = "re-signed" if args.secret else "byte-exact"
        print(f"replaying {len(messages)} message(s) to {args.to}, {mode}, "
              f"speed {args.speed}", flush=True)
        results = asyncio.run(replay(messages, args.to, secret=args.secret, speed=speed,
                                     timeout=args.timeout,
                                     on_result=lambda r: print(str(r), flush=True)))
    except ReplayError as exc:
        raise UsageError(str(exc)) from None
    ok = sum(r.ok for r in results)
    print(f"{ok}/{len(results)} answered 2xx")
    return 0 if ok == len(results) else 1


def _speed(text: str) -> float:
    if text == "max":
        return float("inf")
    try:
        speed = float(text)
    except ValueError:
        speed = 0.0
    if not speed > 0 or speed == float("inf"):
        raise UsageError(f"--speed must be a positive number or max, got {text!r}")
    return speed

