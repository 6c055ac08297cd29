"""storage.sqlite: the WAL is checkpointed beside the writer, not inside a commit."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from storage.sqlite import open_database


async def _until(condition, limit: float = 10.0) -> None:   # noqa: ANN001
    """Wait (on the event loop, up to ``limit`` s) for ``condition()``: no timing is asserted."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not condition():
        assert loop.time() < deadline, "the background checkpoint never ran"
        await asyncio.sleep(0.01)


async def test_commits_are_checkpointed_in_the_background_and_the_wal_stays_bounded(
        tmp_path: Path) -> None:
    db = await open_database(tmp_path / "c.db", [])
    try:
        async with db.write() as conn:
            await conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)")

        def insert(conn):  # noqa: ANN001, ANN202
            conn.executemany("INSERT INTO t (b) VALUES (?)", [(os.urandom(4000),)] * 100)

        for _ in range(40):   # ~16 MB through the WAL: the writer's own mark is 1 000 pages
            await db.write_batch(insert)
            before = db.checkpoints
            await _until(lambda: db.checkpoints > before)   # noqa: B023
        # Everything committed is already copied into the database file: a checkpoint now
        # finds nothing left (its answer: busy, frames in the WAL, frames checkpointed).
        async with db.write() as conn:
            pass
        busy, frames, done = await (await db._checkpointer.execute(
            "PRAGMA wal_checkpoint(PASSIVE)")).fetchone()
        assert busy == 0 and frames == done
        # ...and the WAL restarted from its beginning instead of growing with every commit.
        assert os.path.getsize(f"{tmp_path / 'c.db'}-wal") < 8 * 1024 * 1024
        async with db.read() as conn:
            assert (await (await conn.execute("SELECT count(*) FROM t")).fetchone())[0] == 4000
    finally:
        await db.close()
    assert db._checkpoint_task is not None and db._checkpoint_task.done()


async def test_no_writes_no_checkpoints(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "idle.db", [])
    try:
        async with db.read() as conn:
            await conn.execute("SELECT 1")
        await asyncio.sleep(0.2)
        assert db.checkpoints == 0
    finally:
        await db.close()
