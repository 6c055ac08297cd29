"""Database file mode, constant-time signature comparison, private-network blocking."""

from __future__ import annotations

import hmac
import stat
from pathlib import Path

import pytest

import signing
from dispatcher.errors import InvalidInput
from dispatcher.service import check_url
from storage import open_database


async def test_new_database_files_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "secrets.db"
    db = await open_database(path)
    try:
        async with db.write() as conn:   # a write makes SQLite create -wal and -shm
            await conn.execute("CREATE TABLE t (x)")
        for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    finally:
        await db.close()


def test_signature_comparison_uses_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = hmac.compare_digest

    def counting(a, b):   # type: ignore[no-untyped-def]
        calls.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", counting)
    body, ts = b'{"timestamp":"t"}', "t"
    good = signing.sign("s1", body, ts)
    assert signing.verify(["other", "s1"], body, good, ts)
    with pytest.raises(signing.SignatureError):
        signing.verify(["other"], body, signing.sign("nope", body, ts), ts)
    # Every secret is compared, in constant time, also after a match (no early exit).
    assert len(calls) == 3


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:3000/hook", "http://localhost/hook", "http://api.localhost/x",
    "http://10.1.2.3/x", "http://192.168.0.10/x", "http://172.16.5.5/x", "http://169.254.169.254/",
    "http://[::1]:8080/x", "http://[fd00::1]/x", "http://0.0.0.0/x", "https://100.64.0.1/x"])
def test_block_private_networks_refuses_private_and_local_addresses(url: str) -> None:
    assert check_url(url, block_private_networks=False) == url   # a local tool: allowed by default
    with pytest.raises(InvalidInput) as info:
        check_url(url, block_private_networks=True)
    assert info.value.field == "url" and "block_private_networks" in str(info.value)


@pytest.mark.parametrize("url", ["https://example.com/hook", "http://93.184.216.34/x",
                                 "https://[2606:4700::1111]/x"])
def test_block_private_networks_lets_public_addresses_through(url: str) -> None:
    assert check_url(url, block_private_networks=True) == url


def fake_resolver(table: dict[str, list[str]]):
    """A loop.getaddrinfo stand-in: tests never ask real DNS."""
    import socket

    async def getaddrinfo(host, port, *args, **kwargs):
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, 0)) for a in table[host]]

    return getaddrinfo


RESOLVES = {"intranet.example": ["10.0.0.5"], "mixed.example": ["93.184.216.34", "fd00::1"],
            "public.example": ["93.184.216.34", "2606:4700::1111"]}


@pytest.mark.parametrize(("host", "refused"), [("intranet.example", "10.0.0.5"),
                                               ("mixed.example", "fd00::1"),
                                               ("nowhere.example", "does not resolve")])
async def test_names_resolving_to_private_addresses_are_refused(monkeypatch, host, refused):
    import asyncio

    from dispatcher.service import check_resolved_host

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", fake_resolver(RESOLVES))
    with pytest.raises(InvalidInput) as info:
        await check_resolved_host(f"https://{host}/hook")
    assert info.value.field == "url" and refused in str(info.value)
    await check_resolved_host("https://public.example/hook")   # global only: fine


async def test_the_service_resolves_only_when_blocking(monkeypatch, tmp_path: Path) -> None:
    import asyncio

    from dispatcher.backoff import PRESETS
    from dispatcher.clock import FakeClock
    from dispatcher.service import DispatcherService
    from dispatcher.settings import DispatcherSettings

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", fake_resolver(RESOLVES))
    db = await open_database(tmp_path / "s.db")
    try:
        def service(block: bool) -> DispatcherService:
            return DispatcherService(db, FakeClock(), DispatcherSettings(
                block_private_networks=block), PRESETS["current"])

        sub = await service(False).create_subscription(
            event_category="stock", url="https://intranet.example/hook",
            notification_email="dev@example.com")        # a local tool: allowed by default
        with pytest.raises(InvalidInput):
            await service(True).create_subscription(
                event_category="stock", url="https://intranet.example/hook",
                notification_email="dev@example.com")
        with pytest.raises(InvalidInput):
            await service(True).edit_subscription(sub.guid, {"url": "https://intranet.example/x"})
        edited = await service(True).edit_subscription(sub.guid,
                                                       {"url": "https://public.example/x"})
        assert edited.url == "https://public.example/x"
    finally:
        await db.close()
