"""The portal in a real browser: the issue's whole walkthrough, with a screenshot of each page."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.portal.conftest import NEEDS_BROWSER, Server, login, shot

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the module is skipped by conftest then
    expect = None

pytestmark = [NEEDS_BROWSER, pytest.mark.slow]


@contextmanager
def failing_traffic(server: Server) -> Iterator[None]:
    """Stock events at 20 a second of platform time, made on the server's platform clock (as
    the README walkthrough does), so the back-off's course does not depend on how fast this
    machine runs a client loop."""
    stream = server.call("POST", "/api/streams",
                         {"eventCategory": "stock", "rate": 20, "duration": 600})
    try:
        yield
    finally:
        server.call("DELETE", f"/api/streams/{stream['id']}")


def test_login_is_required_and_a_wrong_secret_is_refused(page: Any, server: Server) -> None:
    page.goto(server.base + "/webhooks")
    page.wait_for_url(re.compile(r"/login\?next=/webhooks$"))
    page.get_by_label("Client ID").fill(server.client_id)
    page.get_by_label("Client secret").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("wrong")
    shot(page, "login")
    login(page, server)
    cookie = next(c for c in page.context.cookies() if c["name"] == "hooksim_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert not cookie["secure"]          # plain http on localhost: Secure would be dropped


def test_the_whole_walkthrough(page: Any, server: Server) -> None:
    login(page, server)
    hook = f"{server.base}/hooks/stock"

    # Add a webhook: validation shows next to the field, the name is filled from the category.
    page.get_by_role("button", name="Add webhook").click()
    dialog = page.locator("#webhook-dialog")
    dialog.get_by_label("Event category").select_option("stock")
    expect(dialog.get_by_label("Name")).to_have_value(re.compile("stock", re.IGNORECASE))
    dialog.get_by_label("Webhook URL").fill("not a url")
    dialog.get_by_label("Notification email").fill("ops@example.com")
    dialog.get_by_role("button", name="Save").click()
    expect(page.locator("#err-url")).not_to_be_empty()
    shot(page, "webhook-add-validation", full=False)
    dialog.get_by_label("Webhook URL").fill(hook)
    dialog.get_by_role("button", name="Save").click()
    row = page.locator("#webhooks tbody tr").filter(has_text=hook)
    expect(row).to_contain_text("Active")
    guid = row.get_attribute("data-guid")
    assert guid

    # The secret is hidden until revealed.
    secret = server.call("GET", f"/api/subscriptions/{guid}")["secret"]
    expect(row).not_to_contain_text(secret)
    row.get_by_role("button", name=re.compile("^Reveal")).click()
    expect(row).to_contain_text(secret)

    # Edit: the category is read-only.
    row.get_by_role("button", name="Edit").click()
    expect(dialog.get_by_label("Event category")).to_be_disabled()
    dialog.get_by_label("Name").fill("Stock levels")
    dialog.get_by_role("button", name="Save").click()
    expect(row).to_contain_text("Stock levels")

    # Send events: they show as Success on the events page.
    server.call("POST", "/api/events", {"eventCategory": "stock", "count": 3})
    page.goto(f"{server.base}/webhooks/{guid}/events")
    expect(page.locator("#events tbody tr .badge.success")).to_have_count(3, timeout=15_000)
    shot(page, "webhooks-events")

    # Make the receiver fail from the inbox's fault controls.
    page.get_by_role("link", name="Receiver inbox").click()
    expect(page.locator("#inbox tbody tr")).to_have_count(3)
    expect(page.locator("#inbox tbody")).to_contain_text("Unchecked")   # no secret configured
    fault_row = page.locator('#endpoints tr[data-endpoint=""]')
    fault_row.get_by_label("Endpoint name").fill("stock")
    fault_row.get_by_label("new endpoint: answer status").fill("500")
    fault_row.get_by_role("button", name="Apply").click()
    expect(page.locator("#flash")).to_contain_text("Faults set on stock")
    server.call("POST", "/api/events", {"eventCategory": "stock", "count": 1})
    expect(page.locator("#inbox tbody tr").first).to_contain_text("Fault: ", timeout=10_000)
    shot(page, "inbox")

    # Watch the subscription become Paused, then Stopped, in the pages.
    page.goto(f"{server.base}/webhooks")
    with failing_traffic(server):
        # Generous waits, not timings: it is paused for most of the run, stopped 8 min in.
        expect(row.locator(".badge").first).to_have_text("Paused", timeout=60_000)
        shot(page, "webhooks-paused", full=False)
        expect(row.locator(".badge").first).to_have_text("Stopped", timeout=120_000)
    shot(page, "webhooks")
    page.goto(f"{server.base}/webhooks/{guid}/backoff")
    expect(page.locator("#history tbody")).to_contain_text("Stopped")
    expect(page.locator("#chart svg .bar").first).to_be_attached()
    # A stopped subscription: the card says what stopped it (its window is cleared), and the
    # chart ends in a stopped band.
    stop = [t for t in server.call("GET", f"/api/subscriptions/{guid}/backoff")["history"]
            if t["kind"] == "STOPPED"][-1]
    expect(page.locator("#bo-pauses-label")).to_have_text("Pauses when stopped")
    expect(page.locator("#bo-pauses")).to_contain_text(f"{stop['pausesInWindow']} (stop at")
    assert stop["pausesInWindow"] > 0
    expect(page.locator("#chart svg rect.shade.stopped")).to_have_count(1)
    # The CLI says the same.
    cli = subprocess.run([sys.executable, "-m", "hooksim", "subscriptions", "backoff", guid,
                          "--server", server.base, "--credentials",
                          str(server.cwd / "hooksim-credentials.json")],
                         capture_output=True, text=True, timeout=60, cwd=server.cwd)
    assert cli.stdout.startswith(f"status STOPPED at {stop['at']}: "), cli.stdout + cli.stderr
    assert f"{stop['pausesInWindow']} pauses when it stopped" in cli.stdout.splitlines()[0]
    expect(page.locator("#history tbody tr").first).to_contain_text("Stopped")   # newest first
    shot(page, "backoff")

    # Home answers "is everything healthy?": no, one webhook is stopped.
    page.goto(server.base + "/")
    expect(page.locator("#count-stopped")).to_have_text("1")
    expect(page.locator("#health")).to_contain_text("paused or stopped")
    expect(page.locator("#attention tbody")).to_contain_text("Stock levels")
    shot(page, "home")

    # Filter events by status, open one's details, replay it once the endpoint is healed.
    page.goto(f"{server.base}/webhooks/{guid}/events")
    page.get_by_role("button", name="Filters", exact=True).click()
    page.get_by_label("Webhook event status").select_option("NOT_SENT")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator("#events tbody tr .badge").first).to_have_text("Not sent")
    expect(page.locator("#events tbody .badge:not(.not_sent)")).to_have_count(0)
    first = page.locator("#events tbody tr").first
    webhook_guid = first.get_attribute("data-webhook")
    first.get_by_role("button", name=re.compile("^Details")).click()
    event_dialog = page.locator("#event-dialog")
    expect(event_dialog).to_be_visible()
    expect(event_dialog.locator("#event-fields")).to_contain_text(webhook_guid)
    expect(event_dialog.locator("#event-body")).to_contain_text('"eventCategory": "stock"')
    shot(page, "event-details", full=False)
    server.call("PUT", "/api/receiver/endpoints/stock/faults", {})
    event_dialog.get_by_role("button", name="Close").click()

    # Restart the subscription, then replay the Not sent event: Success.
    page.goto(f"{server.base}/webhooks")
    row.get_by_role("button", name="Restart").click()
    expect(row.locator(".badge").first).to_have_text("Active")
    # A restart clears the back-off's windows, not its history (the README says so).
    kinds = [t["kind"] for t in server.call("GET", f"/api/subscriptions/{guid}/backoff")["history"]]
    assert "STOPPED" in kinds and kinds[-1] == "RESTARTED"
    page.goto(f"{server.base}/webhooks/{guid}/events")
    page.get_by_role("button", name="Filters", exact=True).click()
    page.get_by_label("Webhook event status").select_option("NOT_SENT")
    page.get_by_role("button", name="Apply filters").click()
    target = page.locator(f'#events tbody tr[data-webhook="{webhook_guid}"]')
    target.get_by_role("button", name="Replay").click()
    expect(page.locator("#flash")).to_contain_text("Replay")
    deadline = time.monotonic() + 60   # a bound on waiting, not a timing
    while server.call("GET", f"/api/deliveries/{webhook_guid}")["status"] != "SUCCESS":
        assert time.monotonic() < deadline, "the replay never succeeded"
        time.sleep(0.2)
    page.get_by_label("Webhook event status").select_option("SUCCESS")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator(f'#events tbody tr[data-webhook="{webhook_guid}"]')).to_contain_text("Success")


def test_inbox_shows_a_script_payload_as_text(page: Any, server: Server) -> None:
    login(page, server)
    page.goto(server.base + "/inbox")
    expect(page.locator("#live-state")).to_contain_text("live")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    body = b'{"note": "<script>alert(1)</script><img src=x onerror=alert(2)>"}'
    request = urllib.request.Request(server.base + "/hooks/xss", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(request, timeout=10).close()
    except urllib.error.HTTPError:
        pass                            # unsigned: rejected, but stored and shown
    row = page.locator("#inbox tbody tr").filter(has_text="xss").first
    expect(row).to_be_visible()         # arrived live, over server-sent events
    row.get_by_role("button", name=re.compile("^Details")).click()
    expect(page.locator("#message-body")).to_contain_text("<script>alert(1)</script>")
    assert page.locator("#message-body script, #message-body img").count() == 0
    assert dialogs == []


def test_restaurants_search_and_csv(page: Any, server: Server) -> None:
    server.call("POST", "/api/events", {"eventCategory": "partner", "eventType": "partner_added",
                                        "count": 4})
    login(page, server)
    page.goto(server.base + "/restaurants")
    rows = page.locator("#restaurants tbody tr")
    expect(rows.first).not_to_contain_text("No connected")
    count = rows.count()
    name = rows.first.locator("td").first.inner_text()
    page.get_by_label("Search").press_sequentially(name[:6])
    expect(page.get_by_role("link", name="Export CSV")).to_have_attribute("href", re.compile("q="))
    expect(rows.first).to_contain_text(name[:6])
    shot(page, "restaurants")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    text = open(download.value.path(), encoding="utf-8").read()
    table = list(csv.DictReader(io.StringIO(text)))
    assert table and all(name[:6].casefold() in " ".join(r.values()).casefold() for r in table)
    assert len(table) <= count


def test_rotate_credentials_with_typed_confirmation(page: Any, server: Server) -> None:
    login(page, server)
    page.get_by_role("link", name="Credentials").click()
    old = server.client_secret
    expect(page.locator("#client-id")).to_have_text(server.client_id)
    expect(page.locator("#client-secret")).not_to_contain_text(old)
    page.get_by_role("button", name="Reveal").click()
    expect(page.locator("#client-secret")).to_have_text(old)
    page.get_by_role("button", name="Rotate secret").click()
    confirm = page.get_by_label("Confirmation")
    confirm.fill("rotate secret")
    expect(page.get_by_role("dialog")).to_contain_text("Ready to rotate the client secret")
    expect(page.get_by_role("button", name="Continue")).to_be_disabled()
    confirm.fill("ROTATE SECRET")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#flash")).to_contain_text("rotated")
    expect(page.locator("#client-secret")).not_to_have_text(old)
    new = json.loads((server.cwd / "hooksim-credentials.json").read_text())["clientSecret"]
    expect(page.locator("#client-secret")).to_have_text(new)
    shot(page, "credentials")
    page.get_by_role("link", name="Activity log").first.click()
    expect(page.locator("#activity tbody")).to_contain_text("Client secret rotated")
    shot(page, "activity")
    page.goto(server.base + "/credentials")
    page.set_viewport_size({"width": 390, "height": 844})    # a phone
    shot(page, "credentials-phone")
