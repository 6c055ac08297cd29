"""hooksim's pytest plugin (the ``pytest11`` entry point ``hooksim``): test your webhook app
against the platform, in your own test suite.

Fixtures (async; they need pytest-asyncio, which ``pip install 'hooksim[pytest]'`` brings):

- ``hooksim_platform``: a :class:`~hooksim.testkit.Platform` in this process on the exact
  platform clock; subscribe your app's URL, send events of any category, ``await settle()``,
  then assert on ``deliveries()`` (statuses, attempts) and ``backoff()`` (pauses, stops).
- ``hooksim_receiver``: a :class:`~hooksim.testkit.Receiver` on 127.0.0.1 for apps that send
  webhooks on; assert on ``messages()``.
- ``hooksim_secret``: the secret both use unless told otherwise.

``--hooksim-preset legacy`` runs the platform with the legacy back-off rules.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from hooksim.testkit import Platform, Receiver

try:
    import pytest_asyncio
except ImportError:   # the plugin loads in every pytest run: without it, offer nothing, break nothing
    pytest_asyncio = None

SECRET = "hooksim-test-secret-0123456789ab"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hooksim", "hooksim's in-process platform")
    group.addoption("--hooksim-preset", choices=["current", "legacy"], default="current",
                    help="the platform's back-off rules for hooksim_platform (default current)")


@pytest.fixture
def hooksim_secret() -> str:
    """The secret hooksim_platform's subscriptions sign with and hooksim_receiver verifies with;
    override this fixture to use your app's own."""
    return SECRET


if pytest_asyncio is not None:
    @pytest_asyncio.fixture
    async def hooksim_platform(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Platform]:
        """The platform, in this process, on its own SQLite file under tmp_path."""
        from hooksim.testkit import Platform

        preset = request.config.getoption("--hooksim-preset")
        async with Platform.started(tmp_path / "hooksim-platform.db", preset=preset) as platform:
            yield platform

    @pytest_asyncio.fixture
    async def hooksim_receiver(tmp_path: Path, hooksim_secret: str) -> AsyncIterator[Receiver]:
        """hooksim's receiver on 127.0.0.1, verifying with hooksim_secret."""
        from hooksim.testkit import Receiver

        async with Receiver.started(tmp_path / "hooksim-receiver.db", hooksim_secret) as receiver:
            yield receiver
