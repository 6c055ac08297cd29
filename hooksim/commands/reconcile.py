"""`hooksim check --reconcile URL`: did my integration converge to the platform's truth?

Thin: the options, the credentials, one line per finding. The logic is :mod:`toastapi.reconcile`.
Exit codes: 0 converged, 1 it missed something, 2 bad usage or nothing to compare with.
"""

from __future__ import annotations

import argparse
import json

from hooksim.errors import UsageError


def add_options(check: argparse.ArgumentParser) -> None:
    """The reconcile options of `hooksim check` (`--server` and `--credentials` as other
    commands that talk to a running hooksim have them)."""
    check.add_argument("--reconcile", metavar="STATE_URL",
                       help="compare the state your integration exposes at STATE_URL with what "
                       "hooksim's fallback APIs say (docs/fallback-apis.md); exit 1 if it missed "
                       "anything")
    check.add_argument("--server", metavar="URL", default=None,
                       help="with --reconcile: the running hooksim (default: $HOOKSIM_URL, else the server "
                       "started from this folder, else http://server.host:server.port)")
    check.add_argument("--credentials", metavar="PATH", default=None,
                       help="with --reconcile: the credentials file `hooksim serve` wrote "
                       "(default auth.credentials_file)")
    check.add_argument("--config", metavar="PATH", default=None, help="with --reconcile: settings file")


def run(args: argparse.Namespace) -> int:
    import asyncio
    import os
    from pathlib import Path

    from hooksim.client import URL_VARIABLE, find_server
    from hooksim.commands.common import settings_from_args
    from toastapi.reconcile import ReconcileError, reconcile

    args.log_level = getattr(args, "log_level", None) or "warning"
    settings = settings_from_args(args)
    # The server and credentials as every command finds them (--server, HOOKSIM_URL, the
    # runtime file of a server started from this folder, then the settings).
    server, credentials = find_server(settings, args.server or os.environ.get(URL_VARIABLE),
                                      args.credentials)
    if not args.reconcile.startswith(("http://", "https://")):
        raise UsageError(f"--reconcile: expected the http(s) URL of your integration's state, "
                         f"got {args.reconcile!r}")
    try:
        result = asyncio.run(reconcile(server, credentials.client_id, credentials.client_secret,
                                       args.reconcile))
    except ReconcileError as exc:
        raise UsageError(f"reconcile: {exc}") from None
    for finding in result.findings:
        print(finding.line())
    compared = ", ".join(f"{count} {section}" for section, count in result.compared.items())
    verdict = "converged" if result.converged else f"{len(result.findings)} difference(s)"
    print(f"reconcile: {verdict} ({compared})")
    if args.report:
        Path(args.report).write_text(json.dumps(result.to_json(), indent=2) + "\n")
    return 0 if result.converged else 1
