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
