"""Fixtures every test package can use."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.settings import StorageSettings
from tests.backends import BACKENDS, storage_settings_for


@pytest.fixture(params=BACKENDS)
def storage_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StorageSettings]:
    """An empty database on each backend in turn (PostgreSQL: a fresh schema; see
    tests/backends.py for when it skips)."""
    with storage_settings_for(request.param, tmp_path) as settings:
        yield settings
