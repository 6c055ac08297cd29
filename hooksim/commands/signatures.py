"""`hooksim sign`, `hooksim verify`, `hooksim secret`: the signing module on the command line."""

from __future__ import annotations

import argparse
import sys

import signing
from hooksim.errors import UsageError


def register(commands: argparse._SubParsersAction) -> None:
    sign = commands.add_parser(
        "sign",
        help="print the Toast-Signature of a body",
        description="Print the Toast-Signature of FILE's exact bytes: base64 HMAC-SHA256 over the "
        "body followed by the timestamp (by default the body's own top-level 'timestamp').",
    )
    sign.add_argument("--secret", required=True, help="the subscription's secret")
    sign.add_argument("--timestamp", help="timestamp text to sign with (default: the body's)")
    sign.add_argument("file", metavar="FILE", help="body file, or - for standard input")
    sign.set_defaults(handler=_sign)

    verify = commands.add_parser(
        "verify",
        help="check a Toast-Signature against a body",
        description="Print 'valid' and exit 0 if SIG matches FILE under any --secret (give several "
        "to check a rotation), else print 'invalid: <reason>' and exit 1.",
    )
    verify.add_argument("--secret", required=True, action="append", help="secret (repeatable)")
    verify.add_argument("--signature", required=True, help="the Toast-Signature header value")
    verify.add_argument("--timestamp", help="timestamp text (default: the body's)")
    verify.add_argument("file", metavar="FILE", help="body file, or - for standard input")
    verify.set_defaults(handler=_verify)

    secret = commands.add_parser(
        "secret", help="print a new random secret", description="Print a new random secret."
    )
    secret.set_defaults(handler=lambda _args: print(signing.new_secret()))


def read_body(name: str) -> bytes:
    """The exact bytes of FILE (or stdin for '-'); never decoded or re-encoded."""
    try:
        if name == "-":
            return sys.stdin.buffer.read()
        with open(name, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise UsageError(f"cannot read {name}: {exc.strerror}") from None


def _sign(args: argparse.Namespace) -> int:
    body = read_body(args.file)
    timestamp = args.timestamp
    if timestamp is None:
        try:
            timestamp = signing.timestamp_of(body)
        except signing.SignatureError as exc:
            raise UsageError(f"{exc}; pass --timestamp to sign it anyway") from None
    print(signing.sign(args.secret, body, timestamp))
    return 0


def _verify(args: argparse.Namespace) -> int:
    body = read_body(args.file)
    try:
        signing.verify(args.secret, body, args.signature, args.timestamp)
    except signing.SignatureError as exc:
        print(f"invalid: {exc}")
        return 1
    print("valid")
    return 0
