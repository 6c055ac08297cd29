"""`hooksim credentials` as a user runs it: subprocesses against a `hooksim serve --port 0`."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

HOOKSIM = [sys.executable, "-m", "hooksim"]
ENV = {**os.environ, "HOOKSIM_DEMO_ENABLED": "false"}


def hooksim(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HOOKSIM, *args], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=60, cwd=cwd, env=ENV)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(base URL, credentials file) of one server for this module, running in its own folder."""
    proc = subprocess.Popen([*HOOKSIM, "serve", "--port", "0"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            cwd=tmp_path_factory.mktemp("served"), env=ENV, text=True)
    try:
        lines = [proc.stdout.readline()]
        assert lines[0].startswith("hooksim serving on http://127.0.0.1:"), lines
        while not lines[-1].startswith("  credentials: ") and len(lines) < 20:
            lines.append(proc.stdout.readline())
        assert lines[-1].startswith("  credentials: "), lines
        yield lines[0].split()[-1], Path(lines[-1].split()[1])
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)


def test_serve_prints_the_owner_only_credentials_file(served: tuple[str, Path]) -> None:
    _, path = served
    assert path.name == "hooksim-credentials.json" and path.parent.name.startswith("served")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_show_prints_the_credentials(served: tuple[str, Path]) -> None:
    url, path = served
    stored = json.loads(path.read_text())
    result = hooksim("credentials", "show", "--json", "--server", url, cwd=path.parent)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"clientId": stored["clientId"],
                                         "clientSecret": stored["clientSecret"]}
    result = hooksim("credentials", "show", "--server", url, cwd=path.parent)
    assert result.stdout.splitlines() == [f"client name    {stored['clientName']}",
                                          f"client id      {stored['clientId']}",
                                          f"client secret  {stored['clientSecret']}"]


def test_rotate_needs_the_confirmation_then_replaces_the_secret(served: tuple[str, Path]) -> None:
    url, path = served
    old = json.loads(path.read_text())["clientSecret"]
    result = hooksim("credentials", "rotate", "--confirm", "rotate secret", "--server", url,
                     cwd=path.parent)
    assert result.returncode == 2
    assert "confirm: type exactly 'ROTATE SECRET'" in result.stderr
    assert "Traceback" not in result.stderr and json.loads(path.read_text())["clientSecret"] == old

    result = hooksim("credentials", "rotate", "--confirm", "ROTATE SECRET", "--server", url,
                     cwd=path.parent)
    assert result.returncode == 0, result.stderr
    new = json.loads(path.read_text())["clientSecret"]
    assert new != old and f"new client secret  {new}" in result.stdout
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    shown = hooksim("credentials", "show", "--json", "--server", url, cwd=path.parent)
    assert json.loads(shown.stdout)["clientSecret"] == new


def test_rotate_without_confirm_is_a_usage_error(tmp_path: Path) -> None:
    result = hooksim("credentials", "rotate", cwd=tmp_path)
    assert result.returncode == 2 and "--confirm" in result.stderr


def test_without_a_server_the_error_says_what_to_do(tmp_path: Path) -> None:
    result = hooksim("credentials", "show", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == ("hooksim: no credentials file at hooksim-credentials.json: start "
                             "`hooksim serve` first or pass --server/--credentials\n")
    (tmp_path / "hooksim-credentials.json").write_text('{"clientId": "i", "clientSecret": "s"}')
    result = hooksim("credentials", "show", "--server", "http://127.0.0.1:9", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == ("hooksim: cannot reach hooksim at http://127.0.0.1:9: start `hooksim "
                             "serve` in this folder, or point the CLI at the running server with "
                             "--server URL or HOOKSIM_URL=URL\n")
