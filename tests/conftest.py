"""Fixtures every test package can use."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from storage.backends import open_storage
from storage.settings import StorageSettings
from tests.backends import BACKENDS, storage_settings_for


@pytest.fixture(params=BACKENDS)
def storage_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StorageSettings]:
    """An empty database on each backend in turn (PostgreSQL: a fresh schema; see
    tests/backends.py for when it skips)."""
    with storage_settings_for(request.param, tmp_path) as settings:
        yield settings


@pytest.fixture
async def db(storage_settings: StorageSettings) -> AsyncIterator[Any]:
    """That database opened with every component's tables."""
    database = await open_storage(storage_settings)
    yield database
    await database.close()


@pytest.fixture(scope="session", autouse=True)
def cpu_hogs() -> Iterator[int]:
    """``HOOKSIM_TEST_CPU_HOGS=N``: N busy-loop processes run beside the whole session, so the
    suite proves it does not depend on having the machine to itself (``make test`` runs the
    timing-sensitive suites this way too)."""
    count = int(os.environ.get("HOOKSIM_TEST_CPU_HOGS", "0") or 0)
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield count
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
