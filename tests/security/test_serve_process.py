"""`hooksim serve`/`receive` as processes: bind warning, slow clients cut off, and no secret,
token or signature in the logs of a full debug-level run."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import aiohttp
import pytest

from tests.webhooks import SECRET, envelope, signed
from tests.processes import query, start

pytestmark = pytest.mark.slow


async def stop(proc: asyncio.subprocess.Process) -> None:
    proc.terminate()
    assert await asyncio.wait_for(proc.wait(), 20) == 0


@pytest.mark.parametrize(("host", "warned"), [("127.0.0.1", False), ("0.0.0.0", True)])
async def test_binding_beyond_loopback_prints_a_warning(tmp_path: Path, host: str,
                                                        warned: bool) -> None:
    proc, _ = await start(tmp_path, "serve", "--host", host, "--port", "0",
                          "--db", str(tmp_path / "h.db"))
    await stop(proc)
    log = (tmp_path / "server.log").read_text()
    assert ("warning: binding 0.0.0.0, not loopback" in log) is warned, log


def test_default_bind_is_loopback() -> None:
    from hooksim.settings import ServerSettings
    assert ServerSettings().host == "127.0.0.1"


async def test_slow_clients_are_cut_off_and_do_not_block_others(tmp_path: Path) -> None:
    proc, url = await start(tmp_path, "receive", "--port", "0", "--secret", SECRET,
                            "--db", str(tmp_path / "r.db"),
                            first_line="hooksim receiver listening on",
                            HOOKSIM_SERVER_READ_TIMEOUT="1.0",
                            HOOKSIM_SERVER_KEEPALIVE_TIMEOUT="1.0")
    host, port = url.removeprefix("http://").split(":")
    body = envelope()
    head = (f"POST /hooks/orders HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n").encode()
    for signature_line in signed(body)["Toast-Signature"],:
        head += f"Toast-Signature: {signature_line}\r\n\r\n".encode()

    async def trickle(data: bytes, every: float = 0.1, first: bytes = b"") -> float:
        """Send ``first`` then ``data`` a byte at a time; seconds until the server closed the
        connection."""
        reader, writer = await asyncio.open_connection(host, int(port))
        began = time.monotonic()
        try:
            writer.write(first)
            for byte in data:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(every)
                if reader.at_eof():
                    break
            await asyncio.wait_for(reader.read(), 10)
        except (ConnectionError, asyncio.TimeoutError):
            pass
        finally:
            writer.close()
        return time.monotonic() - began

    try:
        slow = [asyncio.create_task(trickle(body, first=head)) for _ in range(5)]  # body trickled
        slow += [asyncio.create_task(trickle(head)) for _ in range(5)]           # headers too
        await asyncio.sleep(0.3)
        async with aiohttp.ClientSession() as session:
            for _ in range(5):   # meanwhile, normal requests are answered at once
                began = time.monotonic()
                fresh = envelope()
                async with session.post(f"{url}/hooks/orders", data=fresh,
                                        headers=signed(fresh)) as response:
                    assert response.status == 200
                assert time.monotonic() - began < 0.5
        took = await asyncio.gather(*slow)
    finally:
        await stop(proc)
    # The whole trickle would take len(head + body) / 10 s (well over 20 s); each is cut off
    # about one timeout after its headers (read_timeout) or its start (keepalive_timeout).
    assert len(head) * 0.1 > 15 and len(body) * 0.1 > 15
    assert all(t < 5.0 for t in took), took
    assert "server.read_timeout" in (tmp_path / "server.log").read_text()


async def test_no_secret_token_or_signature_in_a_debug_log(tmp_path: Path) -> None:
    db = tmp_path / "full.db"
    proc, base = await start(tmp_path, "serve", "--port", "0", "--db", str(db),
                             "--log-level", "debug", HOOKSIM_DEMO_ENABLED="true",
                             HOOKSIM_DEMO_INTERVAL_SECONDS="0.2")
    creds_file = tmp_path / "credentials.json"
    secrets: set[str] = set()
    try:
        async with aiohttp.ClientSession() as session:
            async def login() -> dict[str, str]:
                creds = json.loads(creds_file.read_text())
                secrets.add(creds["clientSecret"])
                async with session.post(f"{base}/api/authentication/login", json={
                        "clientId": creds["clientId"],
                        "clientSecret": creds["clientSecret"]}) as r:
                    token = (await r.json())["accessToken"]
                secrets.add(token)
                return {"Authorization": f"Bearer {token}"}

            auth = await login()
            async with session.post(f"{base}/api/authentication/login", json={
                    "clientId": "x", "clientSecret": "wrong-secret-value-1234"}) as r:
                assert r.status == 401
            secrets.add("wrong-secret-value-1234")
            async with session.post(f"{base}/api/subscriptions", headers=auth, json={
                    "eventCategory": "stock", "url": f"{base}/hooks/stock",
                    "notificationEmail": "dev@example.com"}) as r:
                assert r.status == 201
            async with session.post(f"{base}/api/events", headers=auth,
                                    json={"eventCategory": "stock", "count": 5}) as r:
                assert r.status == 202
            async with session.post(f"{base}/api/credentials/rotate", headers=auth,
                                    json={"confirm": "ROTATE SECRET"}) as r:
                assert r.status == 200
                secrets.add((await r.json())["clientSecret"])
            auth = await login()
            async with session.get(f"{base}/api/subscriptions", headers=auth) as r:
                secrets |= {s["secret"] for s in (await r.json())["items"]}
            for _ in range(200):
                if query(db, "SELECT count(*) FROM delivery WHERE status = 'SUCCESS'")[0][0] >= 10:
                    break
                await asyncio.sleep(0.05)
    finally:
        await stop(proc)
    signatures = {row[0] for row in query(db, "SELECT signature FROM delivery")}
    assert len(signatures) >= 10 and len(secrets) >= 8
    log = (tmp_path / "server.log").read_text()
    assert len(log.splitlines()) > 20, "a debug run should log plenty"
    leaked = [value for value in secrets | signatures if value in log]
    assert not leaked, f"{len(leaked)} secret values appear in the log"
    print(f"\nlog capture: {len(log.splitlines())} log lines searched for "
          f"{len(secrets)} secrets/tokens and {len(signatures)} signatures: none found")
