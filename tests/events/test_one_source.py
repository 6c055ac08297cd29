"""The event catalogue is the one list of categories: everything else derives from it or is
checked against it here, so adding a category is one module and one registry line."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import yaml

from dispatcher import events as catalogue
from dispatcher.policy import AVAILABILITY_CATEGORIES, schedule_for
from dispatcher.settings import DispatcherSettings
from hooksim.commands import dispatch, loadtest

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"


def test_the_openapi_category_enum_is_the_catalogue():
    spec = yaml.safe_load(OPENAPI.read_text())
    assert spec["components"]["schemas"]["Category"]["enum"] == list(catalogue.categories())


def _choices(register, command: list[str]) -> tuple[str, ...]:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    sub = parser
    for word in command:
        sub = next(a for a in sub._actions if isinstance(a, argparse._SubParsersAction)).choices[word]
    return tuple(next(a for a in sub._actions if a.dest == "category").choices)


@pytest.mark.parametrize("register,command", [
    (dispatch.register, ["subscriptions", "add"]),
    (dispatch.register, ["events", "send"]),
    (loadtest.register, ["load"]),
    (loadtest.register, ["predict"]),
])
def test_cli_category_choices_are_the_catalogue(register, command):
    assert _choices(register, command) == catalogue.categories()


def test_retry_schedules_come_from_the_category_specs():
    settings = DispatcherSettings()
    assert AVAILABILITY_CATEGORIES == {"restaurant_availability", "restaurant_availability_toggle"}
    for name, spec in catalogue.CATEGORIES.items():
        expected = (settings.availability_retry_delays if spec.retries == "availability"
                    else settings.retry_delays)
        assert schedule_for(name, settings).delays == tuple(expected), name


async def test_the_portal_offers_every_category(aiohttp_client, tmp_path):
    import re

    from hooksim.app import build_app
    from hooksim.config import load_settings
    from tests.portal.test_handlers import _login

    settings = load_settings(None, environ={
        "HOOKSIM_STORAGE_PATH": str(tmp_path / "portal.db"),
        "HOOKSIM_AUTH_CREDENTIALS_FILE": str(tmp_path / "credentials.json"),
        "HOOKSIM_DEMO_ENABLED": "false"})
    client = await aiohttp_client(build_app(settings))
    await _login(client)
    page = await (await client.get("/webhooks")).text()
    select = page[page.index('id="wh-category"'):]
    options = re.findall(r'<option value="([^"]+)"', select[:select.index("</select>")])
    assert sorted(options) == sorted(catalogue.categories())
