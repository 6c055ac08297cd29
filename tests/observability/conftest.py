"""The whole hooksim app (``build_app``) on a real database, and helpers to read /metrics."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from dispatcher.clock import Clock
from hooksim.app import build_app
from hooksim.config import load_settings
from storage.settings import StorageSettings

SECRET = "endpoint-secret"
MakeApp = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
async def make_app(tmp_path: Path, storage_settings: StorageSettings
                   ) -> AsyncIterator[MakeApp]:
    """``await make_app(clock=..., section={key: value})``: a running app with the demo off, an
    endpoint ``orders`` (secret :data:`SECRET`) and the test's storage backend."""
    clients: list[TestClient[Any, Any]] = []

    async def make(clock: Clock | None = None, **overrides: dict[str, Any]) -> TestClient[Any, Any]:
        sections: dict[str, dict[str, Any]] = {
            "storage": {**dataclasses.asdict(storage_settings), "synchronous": "normal"},
            "auth": {"credentials_file": str(tmp_path / f"credentials{len(clients)}.json")},
            "demo": {"enabled": False},
            "receiver": {"endpoints": [{"name": "orders", "secrets": [SECRET]}]},
        }
        for section, values in overrides.items():
            sections.setdefault(section, {}).update(values)
        client = TestClient(TestServer(build_app(load_settings(environ={}, overrides=sections),
                                                 clock=clock)))
        await client.start_server()
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: TestClient[Any, Any], **headers: str) -> Samples:
    """/metrics parsed by prometheus_client's own parser: {(sample name, labels): value}."""
    response = await client.get("/metrics", headers=headers)
    assert response.status == 200, await response.text()
    assert response.content_type == "text/plain"
    samples: Samples = {}
    for family in text_string_to_metric_families(await response.text()):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def series(samples: Samples, name: str) -> dict[frozenset[tuple[str, str]], float]:
    """Every series of one sample name: {labels: value}."""
    return {labels: v for (n, labels), v in samples.items() if n == name}
