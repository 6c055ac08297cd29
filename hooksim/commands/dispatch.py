"""`hooksim subscriptions|events|deliveries`: the dispatcher's everyday actions, via the API."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from dispatcher import events as catalogue
from dispatcher.events import availability
from hooksim.commands.common import (
    add_api_options,
    add_config_options,
    add_export_options,
    call_api,
    write_export,
)
from hooksim.errors import UsageError

# The event catalogue is the one list of categories.
CATEGORIES = catalogue.categories()


def _command(group: argparse._SubParsersAction, name: str, handler: Callable[..., int],
             help: str, description: str | None = None) -> argparse.ArgumentParser:
    parser = group.add_parser(name, help=help, description=description or help)
    add_config_options(parser)
    add_api_options(parser)
    parser.add_argument("--json", action="store_true", help="print the API's JSON answer")
    parser.set_defaults(handler=handler)
    return parser


def register(commands: argparse._SubParsersAction) -> None:
    subs = commands.add_parser(
        "subscriptions", help="add, list, show, edit, restart or delete webhook subscriptions",
        description="Manage the platform simulator's webhook subscriptions (one event category "
        "each) through the running server.")
    actions = subs.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = _command(actions, "add", _add, "subscribe a URL to an event category")
    add.add_argument("--category", required=True, choices=CATEGORIES)
    add.add_argument("--url", dest="webhook_url", required=True, help="where webhooks are sent")
    add.add_argument("--email", required=True, help="notification email address")
    add.add_argument("--name", help="default: filled from the category")
    _command(actions, "list", _list, "list subscriptions with their status")
    for name, handler, text in (("show", _show, "show one subscription, secret included"),
                                ("backoff", _backoff,
                                 "show back-off state and its pause/stop history"),
                                ("restart", _restart, "restart a STOPPED subscription"),
                                ("delete", _delete, "delete a subscription and its deliveries")):
        _command(actions, name, handler, text).add_argument("guid", metavar="GUID")
    edit = _command(actions, "edit", _edit, "change a subscription's URL, name or email",
                    "Change URL, name and/or notification email. The event category of a "
                    "subscription never changes: create a new one instead.")
    edit.add_argument("guid", metavar="GUID")
    edit.add_argument("--url", dest="webhook_url")
    edit.add_argument("--name")
    edit.add_argument("--email")

    events = commands.add_parser("events", help="send simulated platform events",
                                 description="Make realistic events and deliver them to every "
                                 "subscription of their category.")
    event_actions = events.add_subparsers(dest="action", metavar="ACTION", required=True)
    send = _command(event_actions, "send", _send, "send events of one category")
    send.add_argument("--category", required=True, choices=CATEGORIES)
    send.add_argument("--type", dest="event_type", help="event type (default: any of the category)")
    send.add_argument("--restaurant", help="restaurant GUID (default: a simulated one)")
    send.add_argument("--details", help="JSON object merged over the generated details")
    send.add_argument("--count", type=int, default=1)
    send.add_argument("--large", action="store_true",
                      help="orders only: one catering-size order over 600 KB")
    send.add_argument("--snooze", choices=tuple(availability.SNOOZES),
                      help="restaurant_availability_toggle only: a channel snoozed now, back on "
                      "after 20 or 40 minutes or at the next day's opening (two events)")
    send.add_argument("--rate", help="a stream on the server instead: events per platform time "
                      "(20/s, 600/min), each made at its own moment on the platform clock; "
                      "needs --for")
    send.add_argument("--for", dest="duration", metavar="DURATION",
                      help="how long the stream lasts in platform time (90s, 10m, 1h)")

    deliveries = commands.add_parser("deliveries", help="list and replay webhook deliveries",
                                     description="The event log of a subscription.")
    delivery_actions = deliveries.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = _command(delivery_actions, "list", _deliveries,
                       "list a subscription's deliveries, newest first")
    listing.add_argument("--subscription", required=True, metavar="GUID")
    listing.add_argument("--status", choices=["SUCCESS", "PENDING", "NOT_SENT", "FAILURE"])
    listing.add_argument("--limit", type=int, default=20)
    _command(delivery_actions, "show", _delivery, "show a delivery with its attempts"
             ).add_argument("webhook_guid", metavar="WEBHOOK_GUID")
    _command(delivery_actions, "replay", _replay, "send a delivery's event again"
             ).add_argument("webhook_guid", metavar="WEBHOOK_GUID")
    export = _command(delivery_actions, "export", _export,
                      "write a subscription's delivery attempts to a HAR 1.2 file",
                      "Every attempt of the subscription's deliveries as HAR 1.2: the request "
                      "as sent (exact body, signed headers), the status and the start of the "
                      "response body; opens in browser dev tools and HAR viewers.")
    export.add_argument("--subscription", required=True, metavar="GUID")
    export.add_argument("--status", choices=["SUCCESS", "PENDING", "NOT_SENT", "FAILURE"])
    add_export_options(export, ("har",))


def _table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> None:
    cells = [list(map(str, header))] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for row in cells:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


def _print(args: argparse.Namespace, answer: Any, fields: Mapping[str, str]) -> int:
    if args.json:
        print(json.dumps(answer, indent=2))
    else:
        for label, key in fields.items():
            print(f"{label:<18} {answer.get(key)}")
    return 0


_SUBSCRIPTION_FIELDS = {"guid": "guid", "name": "name", "event category": "eventCategory",
                        "url": "url", "notification email": "notificationEmail",
                        "status": "status", "secret": "secret", "paused until": "pausedUntil",
                        "created": "createdDate", "modified": "modifiedDate"}


def _add(args: argparse.Namespace) -> int:
    body = {"eventCategory": args.category, "url": args.webhook_url,
            "notificationEmail": args.email}
    if args.name:
        body["name"] = args.name
    return _print(args, call_api(args, "POST", "/api/subscriptions", json=body),
                  _SUBSCRIPTION_FIELDS)


def _list(args: argparse.Namespace) -> int:
    answer = call_api(args, "GET", "/api/subscriptions")
    if args.json:
        print(json.dumps(answer, indent=2))
        return 0
    _table([(s["guid"], s["status"], s["eventCategory"], s["name"], s["url"])
            for s in answer["items"]], ("GUID", "STATUS", "CATEGORY", "NAME", "URL"))
    return 0


def _show(args: argparse.Namespace) -> int:
    return _print(args, call_api(args, "GET", f"/api/subscriptions/{args.guid}"),
                  _SUBSCRIPTION_FIELDS)


def _backoff(args: argparse.Namespace) -> int:
    answer = call_api(args, "GET", f"/api/subscriptions/{args.guid}/backoff")
    if args.json:
        print(json.dumps(answer, indent=2))
        return 0
    print(f"status {answer['status']}: {answer['errorsInWindow']} errors and "
          f"{answer['pausesInWindow']} pauses in their windows"
          + (f", paused until {answer['pausedUntil']}" if answer["pausedUntil"] else ""))
    _table([(h["at"], h["kind"], h["errorsInWindow"], h["pausesInWindow"], h["reason"])
            for h in answer["history"]], ("AT (PLATFORM TIME)", "KIND", "ERRORS", "PAUSES", "WHY"))
    return 0


def _restart(args: argparse.Namespace) -> int:
    return _print(args, call_api(args, "POST", f"/api/subscriptions/{args.guid}/restart"),
                  _SUBSCRIPTION_FIELDS)


def _delete(args: argparse.Namespace) -> int:
    call_api(args, "DELETE", f"/api/subscriptions/{args.guid}")
    if not args.json:
        print(f"deleted {args.guid}")
    return 0


def _edit(args: argparse.Namespace) -> int:
    changes = {key: value for key, value in (("url", args.webhook_url), ("name", args.name),
                                             ("notificationEmail", args.email)) if value}
    if not changes:
        raise UsageError("nothing to change: give --url, --name and/or --email")
    return _print(args, call_api(args, "PATCH", f"/api/subscriptions/{args.guid}", json=changes),
                  _SUBSCRIPTION_FIELDS)


def _send(args: argparse.Namespace) -> int:
    if args.rate or args.duration:
        return _stream(args)
    body: dict[str, Any] = {"eventCategory": args.category, "count": args.count}
    if args.event_type:
        body["eventType"] = args.event_type
    if args.restaurant:
        body["restaurantGuid"] = args.restaurant
    if args.large:
        body["large"] = True
    if args.snooze:
        body = {key: value for key, value in body.items() if key in ("eventCategory", "restaurantGuid")}
        body["snooze"] = args.snooze
    if args.details:
        try:
            body["details"] = json.loads(args.details)
        except ValueError as exc:
            raise UsageError(f"--details is not JSON: {exc}") from None
    answer = call_api(args, "POST", "/api/events", json=body)
    if args.json:
        print(json.dumps(answer, indent=2))
    else:
        print("\n".join(answer["eventGuids"]))
    return 0


def _stream(args: argparse.Namespace) -> int:
    if not (args.rate and args.duration):
        raise UsageError("a stream needs both --rate and --for (e.g. --rate 20/s --for 10m)")
    if args.restaurant or args.details or args.count != 1 or args.large or args.snooze:
        raise UsageError("--restaurant, --details, --count, --large and --snooze do not go with --rate")
    from loadtest.scenario import ScenarioError, parse_duration, parse_rate

    try:   # the API takes numbers: per platform second, platform seconds
        body: dict[str, Any] = {"eventCategory": args.category, "rate": parse_rate(args.rate),
                                "duration": parse_duration(args.duration)}
    except ScenarioError as exc:
        raise UsageError(str(exc)) from None
    if args.event_type:
        body["eventType"] = args.event_type
    answer = call_api(args, "POST", "/api/streams", json=body)
    if args.json:
        print(json.dumps(answer, indent=2))
    else:
        print(f"stream {answer['id']}: {answer['events']} {answer['category']} events at "
              f"{answer['ratePerSecond']:g}/s of platform time, {answer['startedAt']} to "
              f"{answer['endsAt']}")
    return 0


def _export(args: argparse.Namespace) -> int:
    answer = call_api(args, "GET", f"/api/subscriptions/{args.subscription}/deliveries/export",
                      params={"format": args.format, "status": args.status})
    return write_export(answer, args.output)


def _deliveries(args: argparse.Namespace) -> int:
    params = {"limit": args.limit, **({"status": args.status} if args.status else {})}
    answer = call_api(args, "GET", f"/api/subscriptions/{args.subscription}/deliveries",
                      params=params)
    if args.json:
        print(json.dumps(answer, indent=2))
        return 0
    _table([(d["webhookGuid"], d["status"], d["eventType"], d["firstSentAt"], d["attempts"],
             d["responseCode"] or d["lastOutcome"]) for d in answer["items"]],
           ("WEBHOOK GUID", "STATUS", "TYPE", "FIRST SENT", "ATTEMPTS", "RESPONSE"))
    return 0


def _delivery(args: argparse.Namespace) -> int:
    answer = call_api(args, "GET", f"/api/deliveries/{args.webhook_guid}")
    if args.json:
        print(json.dumps(answer, indent=2))
        return 0
    for key in ("webhookGuid", "subscriptionGuid", "eventGuid", "eventCategory", "eventType",
                "status", "firstSentAt", "attempts", "responseCode", "routeKey", "webhookUrl"):
        print(f"{key:<18} {answer[key]}")
    print("body")
    print(json.dumps(json.loads(answer["body"]), indent=2, ensure_ascii=False))
    _table([(a["series"], a["attemptNumber"], a["at"], a["responseCode"] or a["outcome"],
             a["latencyMs"]) for a in answer["attemptHistory"]],
           ("SERIES", "ATTEMPT", "AT", "RESPONSE", "MS"))
    return 0


def _replay(args: argparse.Namespace) -> int:
    answer = call_api(args, "POST", f"/api/deliveries/{args.webhook_guid}/replay")
    if args.json:
        print(json.dumps(answer, indent=2))
    else:
        print(f"replaying {answer['webhookGuid']} (series {answer['series']})")
    return 0
