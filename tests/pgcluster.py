"""A throwaway PostgreSQL cluster for the test suite: ``python -m tests.pgcluster CMD ARGS...``
starts one, runs CMD with ``HOOKSIM_TEST_POSTGRES_DSN`` pointing at it, then stops and deletes
it (also when CMD fails or is interrupted), and exits with CMD's status.

The cluster lives in a temporary directory: initdb there (as the ``postgres`` system user when we
are root, because initdb refuses to run as root), listening only on 127.0.0.1 on a free port,
with its unix socket in the same directory, durability off (it is thrown away). Without
PostgreSQL's binaries CMD runs without a DSN, so the PostgreSQL tests skip (or fail under CI).
A DSN already in the environment is used as it is.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DSN_VARIABLE = "HOOKSIM_TEST_POSTGRES_DSN"
DATABASE = "hooksim_test"
SUPERUSER = "postgres"


def find_bindir() -> Path | None:
    """Where initdb and pg_ctl are: PATH first, then Debian's /usr/lib/postgresql/<major>/bin."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(os.path.realpath(on_path)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                      key=lambda p: int(Path(p).parent.parent.name))
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_owner(command: list[str]) -> list[str]:
    """Run as the postgres system user when we are root (initdb and postgres refuse root)."""
    return ["runuser", "-u", SUPERUSER, "--", *command] if os.geteuid() == 0 else command


@contextmanager
def cluster() -> Iterator[str]:
    """Start a throwaway cluster, yield its DSN, stop and delete it on the way out."""
    bindir = find_bindir()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL's initdb was not found")
    root = Path(tempfile.mkdtemp(prefix="hooksim-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, SUPERUSER)
    quiet = {"stdout": subprocess.DEVNULL, "check": True}
    try:
        subprocess.run(_as_owner([str(bindir / "initdb"), "-D", str(data), "-U", SUPERUSER,
                                  "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"]),
                       **quiet)
        port = _free_port()
        options = (f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        subprocess.run(_as_owner([str(bindir / "pg_ctl"), "-D", str(data), "-l",
                                  str(root / "server.log"), "-o", options, "-w", "start"]),
                       **quiet)
        try:
            subprocess.run([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port),
                            "-U", SUPERUSER, DATABASE], check=True)
            yield f"postgresql://{SUPERUSER}@127.0.0.1:{port}/{DATABASE}"
        finally:
            subprocess.run(_as_owner([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                                      "stop"]), stdout=subprocess.DEVNULL, check=False)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    if os.environ.get(DSN_VARIABLE) or find_bindir() is None:
        if not os.environ.get(DSN_VARIABLE):
            print("tests.pgcluster: PostgreSQL not installed; its tests skip (fail under CI)",
                  file=sys.stderr)
        return subprocess.call(argv)
    with cluster() as dsn:
        print(f"tests.pgcluster: throwaway PostgreSQL at {dsn}", file=sys.stderr, flush=True)
        try:
            return subprocess.call(argv, env={**os.environ, DSN_VARIABLE: dsn})
        except KeyboardInterrupt:
            return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
