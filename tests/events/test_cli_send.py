"""`hooksim events send` for the new categories, as a user runs it against `hooksim serve`."""

from __future__ import annotations

import json

import pytest

from tests.auth.test_cli import hooksim, served  # noqa: F401 - the module's server fixture

pytestmark = pytest.mark.slow


def test_send_large_orders_and_a_snooze(served) -> None:   # noqa: F811
    base, credentials = served

    def run(*args: str):
        return hooksim(*args, "--server", base, cwd=credentials.parent)

    added = run("subscriptions", "add", "--category", "orders", "--url", "http://127.0.0.1:9/x",
                "--email", "dev@example.com", "--json")
    assert added.returncode == 0, added.stderr
    sub = json.loads(added.stdout)["guid"]
    large = run("events", "send", "--category", "orders", "--large", "--json")
    assert large.returncode == 0, large.stderr
    assert len(json.loads(large.stdout)["eventGuids"]) == 1
    listed = run("deliveries", "list", "--subscription", sub, "--json")
    body = json.loads(listed.stdout)["items"][0]["body"]
    assert len(body.encode()) > 600 * 1024 and json.loads(body)["eventType"] == "order_updated"

    snooze = run("events", "send", "--category", "restaurant_availability_toggle", "--snooze", "40m",
                 "--json")
    assert snooze.returncode == 0, snooze.stderr
    assert len(json.loads(snooze.stdout)["eventGuids"]) == 2

    refused = run("events", "send", "--category", "menus", "--large")
    assert refused.returncode != 0 and "large" in refused.stderr
