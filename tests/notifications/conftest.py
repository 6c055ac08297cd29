"""Fixtures: the notification store (on the ``db`` of tests/conftest.py), a real SMTP server and its settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from collections.abc import Iterator

import pytest

from dispatcher.settings import SmtpSettings
from storage.notifications import NotificationStore

if TYPE_CHECKING:
    from storage.backends import AnyDatabase
from tests.notifications import SmtpServer


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
