"""The command line as a user meets it: a server found from its folder, fast start for the
commands that need no server, quiet pipes, readable output and one-line errors."""

from __future__ import annotations

import ast
import json
import os
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hooksim.commands import COMMANDS, MODULES

pytestmark = pytest.mark.slow

HOOKSIM = [sys.executable, "-m", "hooksim"]
ENV = {key: value for key, value in os.environ.items() if key != "HOOKSIM_URL"}
ENV["HOOKSIM_DEMO_ENABLED"] = "false"
BODY = b'{"timestamp": "2024-03-28T15:11:01.000Z", "eventCategory": "stock"}'


def hooksim(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HOOKSIM, *args], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=60, cwd=cwd, env={**ENV, **env})


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A `hooksim serve --port 0` started in its own folder: (folder, the URL it printed)."""
    cwd = tmp_path_factory.mktemp("served")
    proc = subprocess.Popen([*HOOKSIM, "serve", "--port", "0"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=cwd, env=ENV,
                            text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("hooksim serving on "), first
        yield cwd, first.split()[-1]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    assert proc.returncode == 0
    assert not (cwd / ".hooksim" / "runtime.json").exists()   # removed on a clean shutdown


def test_the_server_writes_an_owner_only_runtime_file(folder: tuple[Path, str]) -> None:
    cwd, url = folder
    path = cwd / ".hooksim" / "runtime.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0
    record = json.loads(path.read_text())
    assert record["url"] == url
    assert Path(record["credentialsFile"]) == cwd / "hooksim-credentials.json"


def test_the_cli_finds_a_server_on_any_port_from_its_folder(folder: tuple[Path, str]) -> None:
    cwd, url = folder
    result = hooksim("subscriptions", "list", cwd=cwd)   # no --server: port 0 was chosen
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("GUID")


def test_without_a_server_the_error_names_server_and_the_variable(tmp_path: Path) -> None:
    (tmp_path / "hooksim-credentials.json").write_text('{"clientId": "i", "clientSecret": "s"}')
    port = str(closed_port())
    result = hooksim("subscriptions", "list", cwd=tmp_path, HOOKSIM_SERVER_PORT=port)
    assert result.returncode == 2
    assert f"cannot reach hooksim at http://127.0.0.1:{port}" in result.stderr
    assert "--server URL" in result.stderr and "HOOKSIM_URL" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_hooksim_url_points_the_cli_at_a_server(folder: tuple[Path, str], tmp_path: Path) -> None:
    cwd, url = folder
    result = hooksim("subscriptions", "list", "--credentials",
                     str(cwd / "hooksim-credentials.json"), cwd=tmp_path, HOOKSIM_URL=url)
    assert result.returncode == 0, result.stderr


def test_a_stale_runtime_file_is_ignored(tmp_path: Path) -> None:
    (tmp_path / ".hooksim").mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    (tmp_path / ".hooksim" / "runtime.json").write_text(json.dumps(
        {"url": "http://127.0.0.1:1", "pid": int(dead.stdout), "credentialsFile": None}))
    (tmp_path / "hooksim-credentials.json").write_text('{"clientId": "i", "clientSecret": "s"}')
    port = str(closed_port())
    result = hooksim("subscriptions", "list", cwd=tmp_path, HOOKSIM_SERVER_PORT=port)
    assert f"http://127.0.0.1:{port}" in result.stderr   # not the dead server's URL


@pytest.mark.parametrize("args", [["--help"], ["secret"], ["sign", "--secret", "s", "body.json"],
                                  ["verify", "--secret", "s", "--signature", "x" * 44,
                                   "body.json"]])
def test_commands_without_a_server_import_nothing_heavy(args: list[str], tmp_path: Path) -> None:
    """Start-up time is measured by bench/cli_startup.py; here: what loads."""
    (tmp_path / "body.json").write_bytes(BODY)
    script = ("import sys\nfrom hooksim.cli import main\n"
              "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
              "heavy = ('aiohttp', 'asyncio', 'structlog', 'aiosqlite', 'psycopg', "
              "'dispatcher.events', 'hooksim.config', 'rich')\n"
              "print(repr(sorted(m for m in heavy if m in sys.modules)), file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", script, *args], capture_output=True,
                            text=True, cwd=tmp_path, env=ENV, timeout=60)
    assert result.stderr.strip().splitlines()[-1] == "[]"


def test_the_command_table_matches_what_the_modules_register() -> None:
    import argparse

    from hooksim.commands import command_modules

    for name in MODULES:
        parser = argparse.ArgumentParser()
        sub = parser.add_subparsers()
        (module,) = [m for m in command_modules() if m.__name__.endswith("." + name)]
        module.register(sub)
        assert set(sub.choices) == {c for c, owner in COMMANDS.items() if owner == name}


def test_a_closed_pipe_is_not_a_traceback(tmp_path: Path) -> None:
    """`hooksim ... | head`: the reader is gone before the command writes."""
    read, write = os.pipe()
    os.close(read)
    try:
        result = subprocess.run([*HOOKSIM, "secret"], stdout=write, stderr=subprocess.PIPE,
                                text=True, timeout=60, cwd=tmp_path, env=ENV)
    finally:
        os.close(write)
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr, result.stderr
    assert result.returncode == 141


def test_show_leaves_out_what_is_not_set(folder: tuple[Path, str]) -> None:
    cwd, url = folder
    added = json.loads(hooksim("subscriptions", "add", "--category", "stock", "--url",
                               f"{url}/hooks/stock", "--email", "ops@example.com", "--json",
                               cwd=cwd).stdout)
    shown = hooksim("subscriptions", "show", added["guid"], cwd=cwd)
    assert shown.returncode == 0, shown.stderr
    assert "None" not in shown.stdout
    assert "paused until" not in shown.stdout
    assert "status             ACTIVE" in shown.stdout


def test_deliveries_status_takes_any_case_and_options_have_help(folder: tuple[Path, str]) -> None:
    cwd, url = folder
    guid = json.loads(hooksim("subscriptions", "list", "--json", cwd=cwd).stdout)["items"][0]["guid"]
    for status in ("not_sent", "NOT_SENT", "not-sent", "success"):
        result = hooksim("deliveries", "list", "--subscription", guid, "--status", status, cwd=cwd)
        assert result.returncode == 0, result.stderr
    refused = hooksim("deliveries", "list", "--subscription", guid, "--status", "done", cwd=cwd)
    assert refused.returncode == 2 and "invalid choice" in refused.stderr
    usage = hooksim("deliveries", "list", "--help", cwd=cwd).stdout
    for option in ("--subscription GUID", "--status STATUS", "--limit N"):
        line = next(line for line in usage.splitlines() if line.strip().startswith(option))
        assert len(line.strip()) > len(option) + 5, line   # a help text follows the option


def test_notifications_have_a_command(folder: tuple[Path, str]) -> None:
    cwd, _ = folder
    result = hooksim("notifications", "list", cwd=cwd)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "no notification emails\n"
    answer = json.loads(hooksim("notifications", "list", "--kind", "paused", "--json",
                                cwd=cwd).stdout)
    assert answer["items"] == []


def test_check_against_a_dead_url_is_one_line(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/hooks/x"
    result = hooksim("check", "--url", url, "--secret", "s", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "cannot connect" in result.stderr, result.stderr
    assert result.stdout == ""


def test_no_module_level_heavy_imports_in_command_modules() -> None:
    """The command modules import only light things at their top; the rest inside handlers."""
    light = {"argparse", "json", "sys", "os", "time", "typing", "collections.abc", "urllib.parse",
             "__future__", "importlib", "types", "hooksim.errors", "hooksim.commands.common",
             "hooksim.credentials_file", "signing",
             "hooksim.commands.reconcile"}   # check's --reconcile options: checked below too
    folder = Path(__file__).resolve().parents[2] / "hooksim" / "commands"
    for name in (*MODULES, "reconcile"):
        tree = ast.parse((folder / f"{name}.py").read_text())
        for node in tree.body:
            if isinstance(node, ast.ImportFrom):
                assert node.module in light, f"{name}: from {node.module} import ..."
            elif isinstance(node, ast.Import):
                assert all(a.name in light for a in node.names), f"{name}: import ..."


def test_a_folder_without_room_for_the_runtime_file_still_serves(tmp_path: Path) -> None:
    (tmp_path / ".hooksim").write_text("a file where the folder would go")
    proc = subprocess.Popen([*HOOKSIM, "serve", "--port", "0"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
                            env=ENV, text=True)
    try:
        assert proc.stdout is not None and proc.stderr is not None
        first = proc.stdout.readline()
        assert first.startswith("hooksim serving on "), first
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert "cannot write .hooksim/runtime.json" in err and "--server" in err
    assert proc.returncode == 0
