"""bench/floor_server.py stores what hooksim stores: the same row, through hooksim's INSERT.

The benchmark is not part of `make test`, so this keeps the floor honest (and working) when
the receiver's storage changes.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from bench.floor_server import _open, build
from tests.webhooks import SECRET, envelope, signed


async def test_floor_server_verifies_stores_and_counts_duplicates(
        aiohttp_client: Any, tmp_path: Path) -> None:
    db = tmp_path / "floor.db"
    client = await aiohttp_client(build(_open(str(db)), SECRET))
    body = envelope(guid="g-1")
    answers = []
    for _ in range(2):
        async with client.post("/hooks/bench", data=body, headers=signed(body)) as response:
            assert response.status == 200
            answers.append(await response.json())
    assert [a["duplicateCount"] for a in answers] == [0, 1]
    async with client.post("/hooks/bench", data=body,
                           headers=signed(body, "wrong-secret")) as response:
        assert response.status == 401
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT endpoint, event_guid, verified, accepted, status, body "
                            "FROM receiver_message ORDER BY id").fetchall()
    assert rows == [("bench", "g-1", 1, 1, 200, body)] * 2
