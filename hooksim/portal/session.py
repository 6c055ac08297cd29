"""The portal's session cookie: set at login, read by every page."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from hooksim.auth import ACCESS, SESSION_COOKIE, csrf_token


def set_session(request: web.Request, response: web.StreamResponse, token: str,
                max_age: int) -> None:
    """HttpOnly and SameSite=Strict always; Secure only over https, because browsers drop a
    Secure cookie set by a plain-http origin such as http://127.0.0.1 and login would loop."""
    response.set_cookie(SESSION_COOKIE, token, max_age=max_age, path="/", httponly=True,
                        samesite="Strict", secure=request.secure)


def clear_session(response: web.StreamResponse) -> None:
    response.del_cookie(SESSION_COOKIE, path="/")


async def page_session(request: web.Request) -> str:
    """The CSRF token for the page of a logged-in session; else redirect to the login page."""
    token = request.cookies.get(SESSION_COOKIE)
    if token and await request.app[ACCESS].session_client(token) is not None:
        return csrf_token(token)
    # The raw (still percent-encoded) path, quoted as one query value.
    raise web.HTTPSeeOther("/login?next=" + quote(request.raw_path, safe="/"))
