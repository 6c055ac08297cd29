"""The fallback APIs as `hooksim serve` composes them (hooksim.app.build_app): the API client's
login, the dispatcher's world and events, on each backend; off with toast_api.enabled false."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hooksim.app import build_app
from hooksim.auth import CREDENTIALS_PATH
from hooksim.config import load_settings
from storage.settings import StorageSettings
from tests.backends import postgres_env
from toastapi import LOGIN_PATH


def settings_for(storage: StorageSettings, tmp_path: Path, **extra: str):
    env = ({"HOOKSIM_STORAGE_PATH": storage.path} if storage.backend == "sqlite"
           else postgres_env(storage))
    return load_settings(None, environ={**env, "HOOKSIM_DEMO_ENABLED": "false",
                                        "HOOKSIM_AUTH_CREDENTIALS_FILE": str(tmp_path / "c.json"),
                                        **extra})


async def test_serve_answers_at_toasts_paths_from_its_own_events(aiohttp_client: Any, tmp_path: Path,
                                                                 storage_settings: StorageSettings):
    client = await aiohttp_client(build_app(settings_for(storage_settings, tmp_path)))
    credentials = json.loads(client.app[CREDENTIALS_PATH].read_text())
    response = await client.post(LOGIN_PATH, json={
        "clientId": credentials["clientId"], "clientSecret": credentials["clientSecret"],
        "userAccessType": "TOAST_MACHINE_CLIENT"})
    token = (await response.json())["token"]["accessToken"]
    headers = {"Authorization": f"Bearer {token}"}
    restaurants = await (await client.get("/partners/v1/restaurants", headers=headers)).json()
    assert len(restaurants) == 12   # dispatcher.restaurants
    guid = restaurants[0]["restaurantGuid"]
    # An event made through hooksim's own admin API (the same token) shows at Toast's path.
    response = await client.post("/api/events", headers=headers, json={
        "eventCategory": "stock", "eventType": "out_of_stock", "restaurantGuid": guid})
    assert response.status in (200, 201, 202), await response.text()
    inventory = await (await client.get("/stock/v1/inventory", headers={
        **headers, "Toast-Restaurant-External-ID": guid})).json()
    assert [item["status"] for item in inventory] == ["OUT_OF_STOCK"]


async def test_disabled_serves_nothing_at_toasts_paths(aiohttp_client: Any, tmp_path: Path,
                                                       storage_settings: StorageSettings):
    settings = settings_for(storage_settings, tmp_path, HOOKSIM_TOAST_API_ENABLED="false")
    client = await aiohttp_client(build_app(settings))
    response = await client.get("/partners/v1/restaurants")
    assert (response.status, response.content_type) == (404, "text/plain")   # the router's own
