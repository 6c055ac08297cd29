"""`hooksim credentials show|rotate`: the API client's credentials, through the running server."""

from __future__ import annotations

import argparse
import json
import sys

from hooksim.credentials_file import ROTATE_CONFIRMATION
from hooksim.commands.common import add_api_options, add_config_options, call_api


def register(commands: argparse._SubParsersAction) -> None:
    group = commands.add_parser(
        "credentials",
        help="show or rotate the API client's credentials",
        description="Show or rotate the client id and secret that log in to hooksim's API, "
        "through the running server (`hooksim serve`).",
    )
    actions = group.add_subparsers(dest="credentials_action", metavar="ACTION")
    actions.required = True

    show = actions.add_parser(
        "show", help="print the client name, id and secret",
        description="Print the client name, client id and client secret. With --json, print "
        '{"clientId": ..., "clientSecret": ...}, the body POST /api/authentication/login takes.',
    )
    show.add_argument("--json", action="store_true", help="print JSON for scripts")
    show.set_defaults(handler=_show)

    rotate = actions.add_parser(
        "rotate", help="replace the client secret",
        description="Replace the client secret. The old secret stops logging in at once; tokens "
        "issued before keep working until they expire. The server rewrites its credentials "
        "file and records the rotation in the activity log.",
    )
    rotate.add_argument("--confirm", required=True, metavar="TEXT",
                        help=f'type exactly "{ROTATE_CONFIRMATION}"')
    rotate.set_defaults(handler=_rotate)

    for parser in (show, rotate):
        add_config_options(parser)
        add_api_options(parser)


def _show(args: argparse.Namespace) -> int:
    answer = call_api(args, "GET", "/api/credentials")
    if args.json:
        print(json.dumps({"clientId": answer["clientId"], "clientSecret": answer["clientSecret"]}))
    else:
        print(f"client name    {answer['clientName']}")
        print(f"client id      {answer['clientId']}")
        print(f"client secret  {answer['clientSecret']}")
    return 0


def _rotate(args: argparse.Namespace) -> int:
    answer = call_api(args, "POST", "/api/credentials/rotate", json={"confirm": args.confirm})
    print(f"client secret rotated at {answer['secretRotatedAt']}")
    print(f"new client secret  {answer['clientSecret']}")
    if answer.get("credentialsFileWritten"):
        print(f"credentials file   {answer['credentialsFile']} (updated)")
    else:
        print(f"warning: the server could not rewrite {answer['credentialsFile']}; it will retry "
              "at its next start", file=sys.stderr)
    print("the old secret no longer logs in; tokens issued before work until they expire")
    return 0
