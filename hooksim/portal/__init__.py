"""The web portal at ``/``: the developer-portal pages, served by ``hooksim serve``.

Pages are server-rendered shells (Jinja2, autoescaped) whose small script calls the same JSON API
as the CLI, authorized by the session cookie plus the page's CSRF token (see hooksim.auth), so no
rule is implemented twice. The only routes added here that the CLI does not have are the login
form, the logout, the connected-restaurants API (read-only views over the event table), the
Home page's overview and the favicon.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from dispatcher.events import CATEGORIES
from dispatcher.service import default_name
from hooksim.portal import backoff_api, overview, pages, restaurants_api
from hooksim.settings import Settings

HERE = Path(__file__).parent


def setup_portal(app: web.Application, settings: Settings, *,
                 receiver_enabled: bool | None = None) -> None:
    """Add the pages, their static files and the restaurants API. Call after setup_auth.
    ``receiver_enabled``: whether this process serves the receiver (its inbox page), by default
    ``receiver.enabled``."""
    if receiver_enabled is None:
        receiver_enabled = settings.receiver.enabled
    env = aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(HERE / "templates"),
                               autoescape=True, default_helpers=False,
                               undefined=jinja2.StrictUndefined)
    # The category list and the default name come from the dispatcher: one rule, not two.
    env.globals.update(static=_static_url, categories=sorted(CATEGORIES),
                       default_name=default_name,
                       category_names={c: default_name(c) for c in sorted(CATEGORIES)})
    app.router.add_static("/static/", HERE / "static")
    pages.add_routes(app, receiver_enabled=receiver_enabled)
    app.router.add_routes(restaurants_api.routes)
    app.router.add_routes(backoff_api.routes)
    app.router.add_routes(overview.routes)
    app.router.add_get("/favicon.ico", favicon)


async def favicon(request: web.Request) -> web.FileResponse:
    """Browsers ask for /favicon.ico on every site: the portal's icon (SVG), not a 404."""
    return web.FileResponse(HERE / "static" / "favicon.svg",
                            headers={"Content-Type": "image/svg+xml",
                                     "Cache-Control": "max-age=86400"})


def _static_url(name: str) -> str:
    """The file's URL with its modification time, so browsers never run a stale script."""
    return f"/static/{name}?v={int((HERE / 'static' / name).stat().st_mtime)}"
