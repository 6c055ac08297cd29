"""Fixtures: a real SQLite file, the notification store, a real SMTP server and its settings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from dispatcher.settings import SmtpSettings
from storage import Database, open_database
from storage.notifications import NotificationStore
from tests.notifications import SmtpServer


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await open_database(tmp_path / "hooksim.db")
    yield database
    await database.close()


@pytest.fixture
def store(db: Database) -> NotificationStore:
    return NotificationStore(db, max_attempts=3)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer.running() as server:
        yield server


@pytest.fixture
def smtp_settings(smtp: SmtpServer) -> SmtpSettings:
    return SmtpSettings(enabled=True, host="127.0.0.1", port=smtp.port, sender="hooksim@example.test",
                        timeout=5.0, retry_interval=0.05, max_attempts=3)
