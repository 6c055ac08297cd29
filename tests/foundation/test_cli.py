"""The CLI as a user runs it: subprocesses, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.foundation.test_signing import KAT_BODY, KAT_SIGNATURE

HOOKSIM = [sys.executable, "-m", "hooksim"]


def run(*args: str, stdin: bytes | None = None, cwd: Path | None = None, env=None):
    return subprocess.run([*HOOKSIM, *args], input=stdin, capture_output=True, timeout=60,
                          cwd=cwd, env=env)


@pytest.fixture
def body_file(tmp_path: Path) -> Path:
    path = tmp_path / "body.json"
    path.write_bytes(KAT_BODY)
    return path


def test_sign_prints_the_signature_alone(body_file: Path) -> None:
    result = run("sign", "--secret", "test-secret", str(body_file))
    assert result.returncode == 0
    assert result.stdout.decode() == KAT_SIGNATURE + "\n"


def test_sign_reads_stdin_and_takes_an_explicit_timestamp() -> None:
    result = run("sign", "--secret", "test-secret", "--timestamp", "2019-09-16T21:01:53.685Z", "-",
                 stdin=KAT_BODY)
    assert result.stdout.decode().strip() == KAT_SIGNATURE


def test_sign_of_non_json_without_timestamp_is_a_usage_error() -> None:
    result = run("sign", "--secret", "s", "-", stdin=b"plain text")
    assert result.returncode == 2
    assert b"--timestamp" in result.stderr and b"Traceback" not in result.stderr


def test_verify_valid_with_rotation(body_file: Path) -> None:
    result = run("verify", "--secret", "old", "--secret", "test-secret", "--signature",
                 KAT_SIGNATURE, str(body_file))
    assert (result.returncode, result.stdout.decode()) == (0, "valid\n")


def test_verify_invalid_names_the_reason(body_file: Path) -> None:
    result = run("verify", "--secret", "wrong", "--signature", KAT_SIGNATURE, str(body_file))
    assert result.returncode == 1
    assert result.stdout.decode().startswith("invalid: signature does not match")
    result = run("verify", "--secret", "s", "--signature", "short", str(body_file))
    assert result.returncode == 1 and b"44 base64 characters" in result.stdout


def test_unreadable_input_exits_2_with_one_line(tmp_path: Path) -> None:
    result = run("verify", "--secret", "s", "--signature", KAT_SIGNATURE, str(tmp_path / "nope"))
    assert result.returncode == 2
    assert result.stderr.decode().count("\n") == 1 and b"cannot read" in result.stderr


def test_secret_prints_a_new_secret_each_time() -> None:
    first, second = run("secret").stdout.decode().strip(), run("secret").stdout.decode().strip()
    assert first != second and len(first) == 32 and first.isalnum()


@pytest.mark.parametrize("command", ["sign", "verify", "secret", "serve"])
def test_every_command_has_help(command: str) -> None:
    result = run(command, "--help")
    assert result.returncode == 0 and b"usage: hooksim " + command.encode() in result.stdout


def test_bad_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[server]\nport = 'eighty'\n")
    result = run("serve", "--config", str(config))
    assert result.returncode == 2
    assert b"server.port: expected an integer" in result.stderr
    assert b"Traceback" not in result.stderr


def test_serve_binds_loopback_prints_urls_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "HOOKSIM_DEMO_ENABLED": "false"}
    proc = subprocess.Popen([*HOOKSIM, "serve", "--port", "0", "--db", str(tmp_path / "h.db")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path, env=env)
    try:
        line = proc.stdout.readline().decode()
        assert line.startswith("hooksim serving on http://127.0.0.1:"), line
        base = line.split()[-1]
        with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
            assert json.load(response) == {"status": "ok"}
        assert (tmp_path / "h.db").exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        code = proc.wait(timeout=20)
    assert code == 0 and time.monotonic() - started < 15


def test_event_loop_setting_picks_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio
    import sys

    from hooksim.errors import UsageError
    from hooksim.runner import loop_factory

    assert loop_factory("asyncio") is None
    uvloop = pytest.importorskip("uvloop")
    for choice in ("auto", "uvloop"):
        factory = loop_factory(choice)
        assert factory is not None
        loop = factory()
        try:
            assert isinstance(loop, uvloop.Loop) and isinstance(loop, asyncio.AbstractEventLoop)
        finally:
            loop.close()
    monkeypatch.setitem(sys.modules, "uvloop", None)   # as if it were not installed
    assert loop_factory("auto") is None
    with pytest.raises(UsageError, match="uvloop is not installed"):
        loop_factory("uvloop")
