"""The portal's handlers without a browser: session cookie, CSRF, pages, restaurants API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from hooksim.app import build_app
from hooksim.auth import CREDENTIALS_PATH, CSRF_HEADER, SESSION_COOKIE, csrf_token
from hooksim.config import load_settings
from storage.settings import StorageSettings
from tests.backends import postgres_env


@pytest.fixture
async def client(aiohttp_client: Any, tmp_path: Path,
                 storage_settings: StorageSettings) -> TestClient:
    """The portal on each storage backend."""
    storage = ({"HOOKSIM_STORAGE_PATH": storage_settings.path}
               if storage_settings.backend == "sqlite" else postgres_env(storage_settings))
    settings = load_settings(None, environ={
        **storage,
        "HOOKSIM_AUTH_CREDENTIALS_FILE": str(tmp_path / "credentials.json"),
        "HOOKSIM_DEMO_ENABLED": "false"})
    return await aiohttp_client(build_app(settings))


def _credentials(client: TestClient) -> dict[str, str]:
    data = json.loads(client.app[CREDENTIALS_PATH].read_text())
    return {"client_id": data["clientId"], "client_secret": data["clientSecret"]}


async def _login(client: TestClient) -> str:
    response = await client.post("/login", data=_credentials(client), allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/"
    cookie = response.cookies[SESSION_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    assert not cookie["secure"]               # plain http: a Secure cookie would be dropped
    return cookie.value


async def test_pages_need_a_session(client: TestClient) -> None:
    response = await client.get("/webhooks", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/login?next=/webhooks"
    assert (await client.get("/login")).status == 200


async def test_wrong_login_rerenders_the_form_escaped(client: TestClient) -> None:
    response = await client.post("/login", data={"client_id": "<b>x</b>", "client_secret": "no"})
    assert response.status == 401
    text = await response.text()
    assert "&lt;b&gt;x&lt;/b&gt;" in text and "<b>x</b>" not in text
    assert SESSION_COOKIE not in response.cookies
    empty = await client.post("/login", data={})
    assert empty.status == 400


async def test_login_redirects_only_to_local_paths(client: TestClient) -> None:
    for target, expected in (("/credentials", "/credentials"), ("//evil.example", "/"),
                             ("https://evil.example/", "/")):
        response = await client.post("/login", data={**_credentials(client), "next": target},
                                     allow_redirects=False)
        assert response.headers["Location"] == expected


# What a browser does to a Location: drops tabs and newlines anywhere, reads "\\" as "/", trims
# leading and trailing spaces and control characters. Each of these lands on another origin.
@pytest.mark.parametrize("target", ["/\t/evil.example/", "/\n/evil.example", "/\r/evil.example",
                                    "/\\evil.example", " //evil.example", "/ /evil.example",
                                    "\x00//evil.example", "/\x0b/evil.example"])
async def test_login_never_redirects_to_what_a_browser_reads_as_another_origin(
        client: TestClient, target: str) -> None:
    response = await client.post("/login", data={**_credentials(client), "next": target},
                                 allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (303, "/")
    page = await client.get("/login", params={"next": target})   # the form carries it on
    assert page.status == 200 and "evil.example" not in await page.text()


@pytest.mark.parametrize("target", ["/credentials\r\nSet-Cookie: x=1", "/a\nb", "/a\rb"])
async def test_cr_lf_in_next_is_the_default_page_not_a_dropped_answer(client: TestClient,
                                                                     target: str) -> None:
    response = await client.post("/login", data={**_credentials(client), "next": target},
                                 allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (303, "/")
    assert "x" not in response.cookies


async def test_the_login_redirect_keeps_an_odd_path_local_and_whole(client: TestClient) -> None:
    response = await client.get("/webhooks/a%2Fb%20c/events", allow_redirects=False)
    location = response.headers["Location"]
    assert location == "/login?next=/webhooks/a%252Fb%2520c/events"
    login = await client.post("/login", params={"next": "/webhooks/a%2Fb%20c/events"},
                              data={**_credentials(client), "next": "/webhooks/a%2Fb%20c/events"},
                              allow_redirects=False)
    assert login.headers["Location"] == "/webhooks/a%2Fb%20c/events"


async def test_session_page_embeds_the_csrf_token(client: TestClient) -> None:
    token = await _login(client)
    page = await client.get("/webhooks")
    assert page.status == 200
    assert csrf_token(token) in await page.text()
    assert page.headers["Cache-Control"] == "no-store"


async def test_cookie_authorizes_reads_but_writes_need_the_csrf_header(client: TestClient) -> None:
    token = await _login(client)
    assert (await client.get("/api/subscriptions")).status == 200
    body = {"eventCategory": "menus", "url": "http://127.0.0.1:9/x",
            "notificationEmail": "ops@example.com"}
    refused = await client.post("/api/subscriptions", json=body)
    assert refused.status == 403
    assert (await refused.json())["error"] == "csrf_token_invalid"
    wrong = await client.post("/api/subscriptions", json=body, headers={CSRF_HEADER: "nope"})
    assert wrong.status == 403
    made = await client.post("/api/subscriptions", json=body,
                             headers={CSRF_HEADER: csrf_token(token)})
    assert made.status == 201


async def test_bearer_requests_need_no_csrf(client: TestClient) -> None:
    made = await client.post("/api/subscriptions", headers=await _bearer(client), json={
        "eventCategory": "menus", "url": "http://127.0.0.1:9/x",
        "notificationEmail": "ops@example.com"})
    assert made.status == 201
    assert (await made.json())["url"] == "http://127.0.0.1:9/x"


async def test_a_bad_cookie_is_401_and_logout_needs_csrf(client: TestClient) -> None:
    client.session.cookie_jar.update_cookies({SESSION_COOKIE: "forged"})
    assert (await client.get("/api/subscriptions")).status == 401
    token = await _login(client)
    assert (await client.post("/logout", data={"csrf": "x"})).status == 403
    out = await client.post("/logout", data={"csrf": csrf_token(token)}, allow_redirects=False)
    assert out.status == 303 and out.headers["Location"] == "/login"


async def test_logout_revokes_the_token_as_cookie_and_as_bearer(client: TestClient) -> None:
    token = await _login(client)
    client.session.cookie_jar.update_cookies({SESSION_COOKIE: token})
    assert (await client.get("/api/credentials")).status == 200
    out = await client.post("/logout", data={"csrf": csrf_token(token)}, allow_redirects=False)
    assert out.status == 303
    client.session.cookie_jar.clear()
    # Someone who copied the token before the logout: as a cookie, as a bearer, on a page.
    client.session.cookie_jar.update_cookies({SESSION_COOKIE: token})
    assert (await client.get("/api/credentials")).status == 401
    assert (await client.get("/webhooks", allow_redirects=False)).status == 303
    client.session.cookie_jar.clear()
    as_bearer = await client.get("/api/credentials", headers={"Authorization": f"Bearer {token}"})
    assert as_bearer.status == 401
    other = await _login(client)            # other sessions are untouched
    client.session.cookie_jar.update_cookies({SESSION_COOKIE: other})
    assert (await client.get("/api/credentials")).status == 200


async def _bearer(client: TestClient) -> dict[str, str]:
    creds = _credentials(client)
    login = await client.post("/api/authentication/login", json={
        "clientId": creds["client_id"], "clientSecret": creds["client_secret"]})
    return {"Authorization": "Bearer " + (await login.json())["accessToken"]}


async def test_restaurants_follow_partner_events_latest_wins(client: TestClient) -> None:
    bearer = await _bearer(client)
    sent = await client.post("/api/events", headers=bearer, json={
        "eventCategory": "partner", "eventType": "partner_added", "count": 3})
    assert sent.status == 202
    listed = (await (await client.get("/api/restaurants", headers=bearer)).json())["items"]
    assert listed and all(r["lastEventType"] == "partner_added" for r in listed)
    gone = listed[0]["restaurantGuid"]
    await client.post("/api/events", headers=bearer, json={
        "eventCategory": "partner", "eventType": "partner_removed", "restaurantGuid": gone})
    after = (await (await client.get("/api/restaurants", headers=bearer)).json())["items"]
    assert gone not in {r["restaurantGuid"] for r in after}
    name = after[0]["restaurantName"]
    found = (await (await client.get("/api/restaurants", headers=bearer,
                                     params={"q": name.upper()})).json())["items"]
    assert name in {r["restaurantName"] for r in found}
    csv_response = await client.get("/api/restaurants/export.csv", headers=bearer)
    assert csv_response.headers["Content-Type"].startswith("text/csv")
    lines = (await csv_response.text()).splitlines()
    assert lines[0] == "Restaurant,Location,City,GUID,Connected,Last event"   # as on the page
    assert len(lines) == len(after) + 1
    future = await client.get("/api/restaurants", headers=bearer, params={"from": "2999-01-01"})
    assert (await future.json())["items"] == []
    # from after to: an empty range, answered as one (the schema cannot say "400 if from > to")
    backwards = await client.get("/api/restaurants", headers=bearer,
                                 params={"from": "2024-02-02", "to": "2024-01-01"})
    assert backwards.status == 200 and (await backwards.json())["items"] == []


@pytest.mark.parametrize("query", ["from=yesterday", "to=2024-13-40"])
async def test_restaurants_bad_input_is_400(client: TestClient, query: str) -> None:
    response = await client.get("/api/restaurants?" + query, headers=await _bearer(client))
    answer = await response.json()
    assert (response.status, answer["error"], answer["field"]) == (400, "invalid_input",
                                                                   query.split("=")[0])


async def test_error_rates(client: TestClient) -> None:
    bearer = await _bearer(client)
    made = await client.post("/api/subscriptions", headers=bearer, json={
        "eventCategory": "menus", "url": "http://127.0.0.1:9/x", "notificationEmail": "o@e.co"})
    guid = (await made.json())["guid"]
    rates = await client.get(f"/api/subscriptions/{guid}/backoff/errors?minutes=5", headers=bearer)
    body = await rates.json()
    assert len(body["minutes"]) == 5 and body["errorsToPause"] == 50
    assert (await client.get(f"/api/subscriptions/{guid}/backoff/errors?minutes=0",
                             headers=bearer)).status == 400
    missing = "00000000-0000-0000-0000-000000000000"
    assert (await client.get(f"/api/subscriptions/{missing}/backoff/errors",
                             headers=bearer)).status == 404
