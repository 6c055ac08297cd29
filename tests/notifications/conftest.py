"""Fixtures: a real database on each backend, the notification store, a real SMTP server and its settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from collections.abc import AsyncIterator, Iterator

import pytest

from dispatcher.settings import SmtpSettings
from storage.backends import open_storage
from storage.notifications import NotificationStore
from storage.settings import StorageSettings

if TYPE_CHECKING:
    from storage.backends import AnyDatabase
from tests.notifications import SmtpServer


@pytest.fixture
async def db(storage_settings: StorageSettings) -> AsyncIterator[AnyDatabase]:
    database = await open_storage(storage_settings)
    yield database
    await database.close()


@pytest.fixture
def store(db: AnyDatabase) -> NotificationStore:
    return NotificationStore(db)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer.running() as server:
        yield server


@pytest.fixture
def smtp_settings(smtp: SmtpServer) -> SmtpSettings:
    return SmtpSettings(enabled=True, host="127.0.0.1", port=smtp.port, sender="hooksim@example.test",
                        timeout=5.0, retry_interval=0.05, max_attempts=3)
