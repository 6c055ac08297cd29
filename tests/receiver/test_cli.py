"""`hooksim receive` and `hooksim receiver faults|tail` as a user runs them, and a crash test on
each backend: SIGKILL under load loses no message that got a 2xx."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest

from storage.backends import open_storage
from storage.messages import RECEIVER_SCHEMA, MessageQuery, MessageStore
from storage.settings import StorageSettings
from tests.backends import connect, postgres_env, storage_settings_for
from tests.receiver.conftest import SECRET, envelope, signed

pytestmark = pytest.mark.slow
HOOKSIM = [sys.executable, "-m", "hooksim"]


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKSIM_")}
    return {**env, "HOOKSIM_LOG_LEVEL": "warning", "PYTHONUNBUFFERED": "1"}


class Receiver:
    """A `hooksim receive` process in ``cwd`` (where it writes its credentials file), on
    ``storage`` (default: receiver.db in ``cwd``)."""

    def __init__(self, cwd: Path, *args: str, storage: StorageSettings | None = None) -> None:
        self.storage = storage or StorageSettings(path=str(cwd / "receiver.db"))
        self.db = Path(self.storage.path)
        self.log = cwd / "receiver.log"
        sqlite = self.storage.backend == "sqlite"
        self.process = subprocess.Popen(
            [*HOOKSIM, "receive", "--port", "0", "--secret", SECRET, *args,
             *(["--db", self.storage.path] if sqlite else [])],
            cwd=cwd, env={**clean_env(), **({} if sqlite else postgres_env(self.storage))},
            stdout=subprocess.PIPE, stderr=self.log.open("ab"))
        assert self.process.stdout is not None
        first = self.process.stdout.readline().decode()
        assert first.startswith("hooksim receiver listening on http://"), first
        self.url = first.split()[-1]

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        self.process.wait(timeout=20)


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    process = Receiver(tmp_path)
    yield process
    process.stop()


def port_env(url: str) -> dict[str, str]:
    """The environment that points API commands at ``url`` (server.port, not a CLI option)."""
    return {**clean_env(), "HOOKSIM_SERVER_PORT": url.rsplit(":", 1)[1]}


def cli(cwd: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HOOKSIM, *args], cwd=cwd, env=port_env(url), capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("command", [["receive"], ["receiver", "faults"], ["receiver", "tail"]])
def test_every_command_has_help(command: list[str]) -> None:
    result = subprocess.run([*HOOKSIM, *command, "--help"], capture_output=True, timeout=60)
    assert result.returncode == 0
    assert b"usage: hooksim " + " ".join(command).encode() in result.stdout


def test_receive_prints_its_urls_and_accepts_the_secret(receiver: Receiver) -> None:
    assert receiver.process.stdout is not None
    lines = [receiver.process.stdout.readline().decode() for _ in range(3)]
    assert lines[0].strip() == f"hooks:    {receiver.url}/hooks/{{name}}  (any name)"
    assert str(receiver.db) in lines[2]

    async def post() -> tuple[int, int]:
        body = envelope()
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{receiver.url}/hooks/anything", data=body,
                                    headers=signed(body)) as good, \
                    session.post(f"{receiver.url}/hooks/anything", data=body,
                                 headers=signed(body, "wrong")) as bad:
                return good.status, bad.status

    assert asyncio.run(post()) == (200, 401)


def test_bad_fault_config_is_a_usage_error(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[[receiver.endpoints]]\nname = "a"\n[receiver.endpoints.faults]\n'
                      'phases = ["soon"]\n')
    result = cli(tmp_path, "http://127.0.0.1:0", "receive", "--port", "0", "--config",
                 str(config))
    assert result.returncode == 2
    assert "receiver.endpoints[0].faults.phases[0]" in result.stderr


async def test_faults_and_tail_talk_to_a_running_receiver(receiver: Receiver,
                                                         tmp_path: Path) -> None:
    result = await asyncio.to_thread(cli, tmp_path, receiver.url, "receiver", "faults", "orders",
                                     "--status", "503", "--phase", "500:1m")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "orders: status 503, phases 500:60s (now phase 1)"

    tail = await asyncio.create_subprocess_exec(
        *HOOKSIM, "receiver", "tail", "--endpoint", "orders", cwd=tmp_path,
        env=port_env(receiver.url), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        assert tail.stderr is not None and tail.stdout is not None
        assert b"following" in await asyncio.wait_for(tail.stderr.readline(), 30)
        await asyncio.sleep(0.5)  # the stream is open once the login and GET have gone through
        guid = str(uuid.uuid4())
        body = envelope(guid=guid)
        async with aiohttp.ClientSession() as session:
            for name in ("elsewhere", "orders"):
                async with session.post(f"{receiver.url}/hooks/{name}", data=body,
                                        headers=signed(body)) as response:
                    assert response.status == (500 if name == "orders" else 200)
        line = (await asyncio.wait_for(tail.stdout.readline(), 30)).decode()
        assert f"✓ 500  orders  menus/menus_updated  {guid}" in line
        assert "fault: status 500, phase 1" in line
    finally:
        tail.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(tail.wait(), 30) in (0, 130)

    result = await asyncio.to_thread(cli, tmp_path, receiver.url, "receiver", "faults", "orders",
                                     "--clear")
    assert result.stdout.strip() == "orders: no faults"
    result = await asyncio.to_thread(cli, tmp_path, receiver.url, "receiver", "faults", "orders",
                                     "--clear", "--hang")
    assert result.returncode == 2 and "--clear" in result.stderr


async def test_sigkill_under_load_loses_no_acknowledged_message(
        tmp_path: Path, storage_settings: StorageSettings) -> None:
    first = Receiver(tmp_path, storage=storage_settings)
    acknowledged: set[str] = set()
    killed = asyncio.Event()
    gate = asyncio.Semaphore(32)

    async def post(session: aiohttp.ClientSession, guid: str) -> None:
        body = envelope(guid=guid)
        async with gate:
            if killed.is_set():
                return
            try:
                async with session.post(f"{first.url}/hooks/load", data=body,
                                        headers=signed(body)) as response:
                    if response.status == 200:
                        acknowledged.add(guid)
            except (aiohttp.ClientError, asyncio.TimeoutError):
                return  # the process died while this one was in flight: no 2xx, no promise
        if len(acknowledged) >= 150 and not killed.is_set():
            killed.set()
            first.process.send_signal(signal.SIGKILL)

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        await asyncio.gather(*(post(session, str(uuid.uuid4())) for _ in range(600)))
    first.stop()
    assert killed.is_set() and first.process.returncode == -signal.SIGKILL

    # It starts again on the crashed database and carries on.
    second = await asyncio.to_thread(Receiver, tmp_path, storage=storage_settings)
    second.stop()

    if storage_settings.backend == "sqlite":
        with sqlite3.connect(first.db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db = await open_storage(storage_settings, [RECEIVER_SCHEMA])
    try:
        stored = {m.event_guid async for m in MessageStore(db).export(MessageQuery())}
    finally:
        await db.close()
    assert acknowledged <= stored
    assert len(acknowledged) >= 150


def test_receive_runs_on_postgresql_and_never_shows_the_password(tmp_path: Path) -> None:
    with storage_settings_for("postgresql", tmp_path) as storage_settings:
        receive_on_postgresql(tmp_path, storage_settings)


def receive_on_postgresql(tmp_path: Path, storage_settings: StorageSettings) -> None:
    # The test cluster trusts local logins, so any password does; it must show up nowhere.
    storage = replace(storage_settings, dsn=f"{storage_settings.dsn} password=pg-sekrit")
    process = Receiver(tmp_path, "--log-level", "debug", storage=storage)
    try:
        assert process.process.stdout is not None
        lines = [process.process.stdout.readline().decode() for _ in range(3)]
        assert "password=***" in lines[2] and "pg-sekrit" not in lines[2]
        body = envelope()
        assert asyncio.run(post_once(f"{process.url}/hooks/orders", body, signed(body))) == 200
    finally:
        process.stop()
    assert "pg-sekrit" not in process.log.read_text()
    with connect(storage_settings) as conn:
        assert conn.execute("SELECT count(*) FROM receiver_message").fetchone()[0] == 1


async def post_once(url: str, body: bytes, headers: dict[str, str]) -> int:
    async with aiohttp.ClientSession() as session, session.post(url, data=body,
                                                                headers=headers) as response:
        return response.status


def test_serve_on_an_unreachable_postgresql_exits_2_in_one_line(tmp_path: Path) -> None:
    env = {**clean_env(), "HOOKSIM_STORAGE_BACKEND": "postgresql",
           "HOOKSIM_STORAGE_DSN": "postgresql://hooksim@127.0.0.1:1/hooksim"}
    result = subprocess.run([*HOOKSIM, "serve", "--port", "0"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith("hooksim: database unavailable"), result.stderr
    assert not (tmp_path / "hooksim-credentials.json").exists()
