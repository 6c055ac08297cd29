"""An outside tester in CI: Schemathesis (pinned in pyproject's test extras) runs every check
against a real `hooksim serve` on 127.0.0.1, from docs/openapi.yaml, logged in and logged out.

Fixed seed, bounded examples, one worker: about 1,750 cases each way, one to three minutes in
all on a shared 2-core machine. Zero failures is the bar: a failure means the server and its
published schema disagree (fix whichever is wrong) or the server answers a 5xx; the report,
with a curl line reproducing each failure, is printed. `/api/messages/stream` is left out: a
never-ending event stream, which a request/response tester can only wait out. A hook
(tests/conformance/hooks.py) sends a valid POST /api/events `count` above 100 as 100: one
request for 10,000 events is a load test, not conformance; the 60 s request timeout leaves
room for the rest under load.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.processes import start

ROOT = Path(__file__).resolve().parents[2]
OPENAPI = ROOT / "docs" / "openapi.yaml"
SEED = 17
MAX_EXAMPLES = 20
SCHEMATHESIS = [sys.executable, "-c", "from schemathesis.cli import schemathesis; schemathesis()"]

pytestmark = pytest.mark.slow


def _login(base: str, credentials: Path) -> str:
    data = json.loads(credentials.read_text())
    request = urllib.request.Request(
        f"{base}/api/authentication/login", method="POST",
        data=json.dumps({"clientId": data["clientId"],
                         "clientSecret": data["clientSecret"]}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.loads(response.read())["accessToken"])


@pytest.mark.parametrize("logged_in", [True, False], ids=["logged-in", "logged-out"])
async def test_schemathesis_finds_nothing(tmp_path: Path, logged_in: bool) -> None:
    proc, base = await start(tmp_path, "serve", "--port", "0", "--no-demo",
                             "--db", str(tmp_path / "hooksim.db"))
    try:
        args = [*SCHEMATHESIS, "run", str(OPENAPI), "--url", base,
                "--checks", "all", "--seed", str(SEED), "--max-examples", str(MAX_EXAMPLES),
                "--workers", "1", "--generation-database", "none", "--exclude-path", "/api/messages/stream",
                "--request-timeout", "60", "--no-color"]
        if logged_in:
            token = _login(base, tmp_path / "credentials.json")
            args += ["--header", f"Authorization: Bearer {token}"]
        env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.conformance.hooks",
               "PYTHONPATH": str(ROOT)}
        run = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=600)
    finally:
        proc.terminate()
        await proc.wait()
    report = run.stdout + run.stderr
    summary = [line for line in report.splitlines() if "generated" in line or " in " in line]
    print(f"\nschemathesis ({'logged in' if logged_in else 'logged out'}): "
          + " | ".join(s.strip() for s in summary[-2:]))
    assert run.returncode == 0, report[-20_000:]
    server_log = (tmp_path / "server.log").read_text()
    assert "Traceback" not in server_log, server_log[-5000:]
