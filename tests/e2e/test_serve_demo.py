"""`hooksim serve` end to end: demo subscriptions, signed delivery, verification at the receiver."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from storage.settings import StorageSettings
from dispatcher import events as catalogue
from tests.backends import connect, process_storage

pytestmark = pytest.mark.slow


async def test_demo_traffic_is_signed_delivered_and_verified(
        tmp_path: Path, storage_settings: StorageSettings) -> None:
    """On each backend: `hooksim serve` runs whole on PostgreSQL too."""
    db = replace(storage_settings, path=str(tmp_path / "demo.db"))
    args, storage_env = process_storage(db)
    env = {**os.environ, "HOOKSIM_DEMO_INTERVAL_SECONDS": "0.05", "HOOKSIM_LOG_LEVEL": "warning",
           **storage_env}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hooksim", "serve", "--port", "0", *args,
        cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        first = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert first.startswith(b"hooksim serving on http://127.0.0.1:"), first
        verified = orders = 0
        for _ in range(300):
            await asyncio.sleep(0.05)
            with connect(db) as conn:
                verified = conn.execute("SELECT count(*) FROM receiver_message WHERE verified = 1 "
                                        "AND status = 200").fetchone()[0]
                orders = conn.execute("SELECT count(*) FROM receiver_message WHERE verified = 1 "
                                      "AND category = 'order_updated'").fetchone()[0]
            if verified >= 10 and orders:
                break
    finally:
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 30)
        stderr = (await proc.stderr.read()).decode()
    assert code == 0, stderr
    assert verified >= 10 and orders, stderr
    with connect(db) as conn:
        subscriptions = conn.execute(
            "SELECT event_category, url FROM subscription ORDER BY event_category").fetchall()
        rejected = conn.execute("SELECT count(*) FROM receiver_message WHERE verified = 0").fetchone()[0]
        statuses = dict(conn.execute(
            "SELECT status, count(*) FROM delivery GROUP BY status").fetchall())
    assert [c for c, _ in subscriptions] == sorted(catalogue.categories())
    assert all(url.endswith(f"/hooks/{c}") for c, url in subscriptions)
    assert rejected == 0
    assert statuses.get("SUCCESS", 0) >= 10 and "FAILURE" not in statuses


async def test_no_demo_creates_no_subscriptions(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hooksim", "serve", "--port", "0", "--db", "quiet.db", "--no-demo",
        cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "HOOKSIM_DEMO_INTERVAL_SECONDS": "0.05"})
    try:
        first = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert first.startswith(b"hooksim serving on"), first
        await asyncio.sleep(0.5)            # ten demo intervals: the demo would have acted
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    with connect(StorageSettings(path=str(tmp_path / "quiet.db"))) as conn:
        assert conn.execute("SELECT count(*) FROM subscription").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM event").fetchone()[0] == 0
