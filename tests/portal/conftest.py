"""Browser tests: a real ``hooksim serve`` subprocess driven by headless Chromium (Playwright).

Skipped only when Chromium (or Playwright) is missing on a developer machine; under CI (``CI``
set) a missing browser fails, so the browser tests can never silently stop running there.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.backends import BACKENDS, process_storage, storage_settings_for

CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
#: Screenshots of every page land here; PORTAL_SCREENSHOTS=docs/screenshots regenerates the
#: README's pictures.
SHOTS = Path(os.environ.get("PORTAL_SCREENSHOTS") or tempfile.mkdtemp(prefix="hooksim-shots-"))


def _browser_available() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return Path(CHROMIUM).exists() or shutil.which("chromium") is not None


if not _browser_available() and os.environ.get("CI"):
    raise RuntimeError("CI is set but Chromium or Playwright is missing: run `make test`, "
                       "which installs them")
#: For browser test modules: skipped only on a developer machine without the browser.
NEEDS_BROWSER = pytest.mark.skipif(not _browser_available(),
                                   reason="no Chromium/Playwright (apt-get install chromium)")


@dataclass
class Server:
    base: str
    cwd: Path
    client_id: str
    client_secret: str
    process: subprocess.Popen[bytes]

    def token(self) -> str:
        creds = json.loads((self.cwd / "hooksim-credentials.json").read_text())
        answer = self.call("POST", "/api/authentication/login",
                           {"clientId": creds["clientId"], "clientSecret": creds["clientSecret"]},
                           token=None)
        return str(answer["accessToken"])

    def call(self, method: str, path: str, body: Any = None, *, token: str | None = "login") -> Any:
        """The JSON API with a bearer token, as the CLI uses it."""
        headers = {"Content-Type": "application/json"}
        if token == "login":
            token = self.token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, headers=headers,
                                         method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read()
        return json.loads(text) if text else None


@contextmanager
def serve(backend: str, **extra_env: str) -> Iterator[Server]:
    """``hooksim serve`` on ``backend`` in a fresh folder, with ``extra_env`` settings."""
    cwd = Path(tempfile.mkdtemp(prefix="hooksim-portal-"))
    with storage_settings_for(backend, cwd) as settings:
        args, storage_env = process_storage(settings)
        env = {**os.environ, "HOOKSIM_DEMO_ENABLED": "false", "HOOKSIM_CLOCK_TIME_SCALE": "120",
               "HOOKSIM_LOG_LEVEL": "warning",
               "HOOKSIM_RECEIVER_AUTO_ENDPOINTS": "true",  # demo off: no endpoints configured
               **storage_env, **extra_env}
        process = subprocess.Popen([sys.executable, "-m", "hooksim", "serve", "--port", "0",
                                    *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL)
        try:
            assert process.stdout is not None
            first = process.stdout.readline().decode()
            assert first.startswith("hooksim serving on "), first
            base = first.split()[-1]
            creds = json.loads((cwd / "hooksim-credentials.json").read_text())
            yield Server(base, cwd, creds["clientId"], creds["clientSecret"], process)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
            shutil.rmtree(cwd, ignore_errors=True)


@pytest.fixture(scope="module", params=BACKENDS)
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    """``hooksim serve`` on each backend in turn: the pages read and write through the same
    stores on SQLite and PostgreSQL."""
    with serve(request.param) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, server: Server) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 860}, accept_downloads=True)
    context.set_default_timeout(10_000)
    tab = context.new_page()
    yield tab
    context.close()


def login(page: Any, server: Server) -> None:
    page.goto(server.base + "/login")
    page.get_by_label("Client ID").fill(server.client_id)
    page.get_by_label("Client secret").fill(server.client_secret)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(server.base + "/")        # Home first, as on the platform
    page.goto(server.base + "/webhooks")


def shot(page: Any, name: str, *, full: bool = True) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full)
    return path
