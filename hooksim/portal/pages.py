"""Page handlers: login/logout and the page shells; the data comes from the JSON API."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from hooksim.auth import ACCESS, CSRF_HEADER, SESSION_COOKIE, csrf_token
from hooksim.portal.session import clear_session, page_session, set_session
from web.errors import ApiError

#: (path, template, title, nav label); the receiver's inbox only when the receiver runs.
PAGES = [
    ("/", "home.html", "Home"),
    ("/webhooks", "webhooks.html", "Webhooks"),
    ("/webhooks/{guid}/events", "events.html", "Webhook events"),
    ("/webhooks/{guid}/backoff", "backoff.html", "Back-off"),
    ("/credentials", "credentials.html", "Credentials"),
    ("/activity", "activity.html", "Activity log"),
    ("/restaurants", "restaurants.html", "Connected restaurants"),
    ("/inbox", "inbox.html", "Receiver inbox"),
]


def add_routes(app: web.Application, *, receiver_enabled: bool) -> None:
    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    for path, template, title in PAGES:
        if path == "/inbox" and not receiver_enabled:
            continue
        app.router.add_get(path, _page(template, title, receiver_enabled))


def _page(template: str, title: str, receiver_enabled: bool) -> Any:
    async def handler(request: web.Request) -> web.Response:
        csrf = await page_session(request)
        context = {"title": title, "csrf": csrf, "csrf_header": CSRF_HEADER,
                   "guid": request.match_info.get("guid", ""), "path": request.path,
                   "receiver": receiver_enabled}
        response = aiohttp_jinja2.render_template(template, request, context)
        response.headers["Cache-Control"] = "no-store"
        return response
    return handler


def _safe_next(target: str | None) -> str:
    """Only a local path: never send the browser to another site after login. Browsers drop
    tabs and newlines from a URL and read a backslash as a slash, so ``/<TAB>/evil.example``
    would become ``//evil.example``: only printable ASCII without spaces or backslashes is
    taken (which also keeps CR/LF out of the Location header)."""
    if (target and target.startswith("/") and not target.startswith("//")
            and all("!" <= c <= "~" and c != "\\" for c in target)):
        return target
    return "/"


async def login_form(request: web.Request) -> web.Response:
    return _login_page(request, "", "", 200)


def _login_page(request: web.Request, error: str, client_id: str, status: int) -> web.Response:
    response = aiohttp_jinja2.render_template(
        "login.html", request, {"title": "Log in", "error": error, "client_id": client_id,
                                "next": _safe_next(request.query.get("next")),
                                "csrf": "", "csrf_header": CSRF_HEADER, "path": "/login",
                                "receiver": False},
        status=status)
    return response


async def login(request: web.Request) -> web.Response:
    """The API's own credential check (rate limit included); the token becomes the cookie."""
    form = await request.post()
    client_id = str(form.get("client_id", "")).strip()
    client_secret = str(form.get("client_secret", "")).strip()
    if not client_id or not client_secret:
        return _login_page(request, "Enter the client ID and the client secret.", client_id, 400)
    try:
        token, _, ttl = await request.app[ACCESS].issue_token(request, client_id, client_secret)
    except ApiError as exc:
        message = ("Too many failed logins; wait a minute and try again."
                   if exc.status == 429 else "Client ID or secret is wrong.")
        return _login_page(request, message, client_id, exc.status)
    response = _see_other(_safe_next(str(form.get("next", ""))))
    set_session(request, response, token, ttl)
    return response


async def logout(request: web.Request) -> web.Response:
    """A form POST with the page's CSRF token, so another site cannot log the user out."""
    form = await request.post()
    token = request.cookies.get(SESSION_COOKIE, "")
    if token and form.get("csrf") != csrf_token(token):
        raise web.HTTPForbidden(text="missing or wrong CSRF token")
    if token:   # revoked, not just forgotten by this browser: a copied token stops working too
        await request.app[ACCESS].revoke(token)
    response = _see_other("/login")
    clear_session(response)
    return response


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})
