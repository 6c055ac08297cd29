"""The portal shows what the API says, in words a person reads, and fits any screen.

A server whose receiver checks signatures (one receiver-wide secret), so the inbox can show a good
message as Verified and a forged one as Rejected.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from signing import sign
from tests.portal.conftest import NEEDS_BROWSER, Server, login, serve

try:
    from playwright.sync_api import expect
except ImportError:  # pragma: no cover - the module is skipped by conftest then
    expect = None

pytestmark = [NEEDS_BROWSER, pytest.mark.slow]

RECEIVER_SECRET = "receiver-secret-for-the-portal-tests"
WIDTHS = (390, 1280, 1440, 1920)
LONG_URL = "https://hooks.example.com/" + "very-long-path-segment/" * 8 + "stock?tenant=" + "x" * 60


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    # The pages render the same API on either backend; SQLite keeps this module quick.
    with serve("sqlite", HOOKSIM_RECEIVER_SECRETS=json.dumps([RECEIVER_SECRET])) as running:
        yield running


def post_message(server: Server, endpoint: str, *, secret: str | None) -> int:
    body = json.dumps({"timestamp": "2024-03-28T15:11:01.000Z", "eventCategory": "stock",
                       "eventType": "inventory_update", "guid": "5e7b0b6e-0000-4000-8000-00000000000a",
                       "details": {}}).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["Toast-Signature"] = sign(secret, body, "2024-03-28T15:11:01.000Z")
    request = urllib.request.Request(f"{server.base}/hooks/{endpoint}", data=body,
                                     headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_inbox_badges_say_verified_or_rejected_with_the_reason(page: Any, server: Server) -> None:
    login(page, server)
    page.goto(server.base + "/inbox")
    expect(page.locator("#live-state")).to_contain_text("live")
    assert post_message(server, "good", secret=RECEIVER_SECRET) == 200
    assert post_message(server, "forged", secret="not-the-receivers-secret") == 401
    good = page.locator("#inbox tbody tr").filter(has_text="good")
    forged = page.locator("#inbox tbody tr").filter(has_text="forged")
    expect(good.locator(".badge").first).to_have_text("Verified")
    expect(forged.locator(".badge").first).to_have_text("Rejected: signature does not match")

    # The same words after a reload (the list, not the live stream) and in the dialog.
    page.reload()
    expect(good.locator(".badge").first).to_have_text("Verified")
    expect(forged.locator(".badge").first).to_have_text("Rejected: signature does not match")
    good.get_by_role("button", name="Details").click()
    fields = page.locator("#message-fields")
    expect(fields).to_contain_text("Verified")
    expect(fields).not_to_contain_text("true")
    page.locator("#message-dialog").get_by_role("button", name="Close").click()


def test_live_arrivals_follow_the_verified_filter(page: Any, server: Server) -> None:
    login(page, server)
    page.goto(server.base + "/inbox")
    page.get_by_label("Verified").select_option("yes")
    page.locator("#inbox-filters").get_by_role("button", name="Apply").click()
    expect(page.locator("#live-state")).to_contain_text("live")
    before = page.locator("#inbox tbody tr").filter(has_text="live-good").count()
    assert post_message(server, "live-forged", secret="wrong") == 401
    assert post_message(server, "live-good", secret=RECEIVER_SECRET) == 200
    rows = page.locator("#inbox tbody tr")
    expect(rows.filter(has_text="live-good")).to_have_count(before + 1)
    expect(rows.filter(has_text="live-forged")).to_have_count(0)


def test_backoff_chart_shades_pauses_resumes_and_the_stop(page: Any, server: Server) -> None:
    """A known history (oldest first, as the API gives it): paused, resumed, paused, stopped.
    The chart shows two paused bands with a gap between them and a stopped band to the end."""
    sub = server.call("POST", "/api/subscriptions", {
        "eventCategory": "stock", "url": f"{server.base}/hooks/chart",
        "notificationEmail": "ops@example.com"})
    login(page, server)
    page.goto(f"{server.base}/webhooks/{sub['guid']}/backoff")
    expect(page.locator("#chart svg")).to_be_attached()
    bands = page.evaluate("""() => {
      const minute = 60000, now = Date.parse("2024-03-28T16:00:00Z");
      const at = (m) => new Date(now - m * minute).toISOString();
      const minutes = Array.from({ length: 30 }, (_, i) => ({ at: at(29 - i), errors: 3 }));
      const rates = { now: at(0), errorsToPause: 10, errorWindowSeconds: 300, pausesToStop: 3, minutes };
      const t = (kind, m) => ({ kind, at: at(m), errorsInWindow: 10, pausesInWindow: 1, reason: "" });
      const state = { status: "STOPPED", history: [t("PAUSED", 25), t("RESUMED", 20), t("PAUSED", 12), t("STOPPED", 8)] };
      const box = document.createElement("div");
      document.body.append(box);
      drawChart(box, rates, state);
      return [...box.querySelectorAll("rect.shade")].map((r) => ({
        kind: r.getAttribute("class").split(" ")[1], x: Number(r.getAttribute("x")),
        end: Number(r.getAttribute("x")) + Number(r.getAttribute("width")) }));
    }""")
    assert [b["kind"] for b in bands] == ["paused", "paused", "stopped"], bands
    first, second, stopped = bands
    assert first["end"] < second["x"]            # the resumed gap is not shaded
    assert abs(second["end"] - stopped["x"]) < 0.5   # the stop follows the second pause
    assert stopped["end"] > second["end"]


def test_categories_show_in_words(page: Any, server: Server) -> None:
    server.call("POST", "/api/subscriptions", {
        "eventCategory": "restaurant_availability", "url": f"{server.base}/hooks/avail",
        "notificationEmail": "ops@example.com"})
    login(page, server)
    row = page.locator("#webhooks tbody tr").filter(has_text="/hooks/avail")
    expect(row).to_contain_text("Restaurant availability")
    expect(row).not_to_contain_text("restaurant_availability")
    page.get_by_role("button", name="Add webhook").click()
    options = page.locator("#wh-category option").all_inner_texts()
    assert "Restaurant availability" in options and "restaurant_availability" not in options


def _pages(server: Server) -> dict[str, str]:
    """Every page with data in it (a long URL, events, a message, restaurants): path -> a
    selector that is there once its data has been drawn."""
    subs = server.call("GET", "/api/subscriptions")["items"]
    sub = next((s for s in subs if s["url"] == LONG_URL), None) or server.call(
        "POST", "/api/subscriptions", {"eventCategory": "stock", "url": LONG_URL,
                                       "name": "Stock levels for the whole group of restaurants",
                                       "notificationEmail": "a-rather-long-address@example.com"})
    server.call("POST", "/api/events", {"eventCategory": "stock", "count": 2})
    server.call("POST", "/api/events", {"eventCategory": "partner", "eventType": "partner_added",
                                        "count": 2})
    post_message(server, "a-long-endpoint-name-for-layout", secret=RECEIVER_SECRET)
    guid = sub["guid"]
    return {"/webhooks": "#webhooks tbody tr[data-guid]",
            f"/webhooks/{guid}/events": "#events tbody tr[data-webhook]",
            f"/webhooks/{guid}/backoff": "#chart svg",
            "/credentials": "#client-id",
            "/activity": "#activity tbody tr",
            "/": "#attention tbody tr",
            "/restaurants": "#restaurants tbody tr td code",
            "/inbox": "#inbox tbody tr[data-id]"}


def test_no_page_is_wider_than_the_screen(page: Any, server: Server) -> None:
    pages = _pages(server)
    login(page, server)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for path, ready in pages.items():
            page.goto(server.base + path)
            expect(page.locator(ready).first).to_be_attached()
            page.wait_for_timeout(100)   # let the drawn rows settle into their widths
            sizes = page.evaluate("""() => ({
              page: [document.documentElement.scrollWidth, document.documentElement.clientWidth],
              tables: [...document.querySelectorAll(".table-wrap")].filter((w) => w.offsetParent)
                .map((w) => [w.scrollWidth, w.clientWidth]) })""")
            scroll, client = sizes["page"]
            assert scroll <= client, f"{path} at {width} px: page {scroll} px wide in {client}"
            if width >= 1280:        # on a desktop no table scrolls sideways either
                for scroll, client in sizes["tables"]:
                    assert scroll <= client + 1, f"{path} at {width} px: table {scroll} in {client}"
        if width == 1440:            # long URLs no longer wrap a few characters per line
            page.goto(server.base + "/webhooks")
            row = page.locator("#webhooks tbody tr").filter(has_text="Stock levels for")
            expect(row).to_be_visible()
            assert row.bounding_box()["height"] < 100    # was 667: a few characters a line
            expect(row.get_by_role("button", name="Copy URL of Stock levels for the whole group "
                                   "of restaurants")).to_be_visible()
            assert row.locator(".truncate.url").get_attribute("title") == LONG_URL
    page.goto(server.base + "/login")   # logged in: it redirects? no, the form shows
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth <= "
                             "document.documentElement.clientWidth")


def _subscription(server: Server, name: str) -> dict[str, Any]:
    return server.call("POST", "/api/subscriptions", {
        "eventCategory": "stock", "url": f"{server.base}/hooks/{name}", "name": name,
        "notificationEmail": "ops@example.com"})


def test_webhook_events_page_has_the_webhook_header_edit_and_delete(page: Any,
                                                                    server: Server) -> None:
    sub = _subscription(server, "header-check")
    login(page, server)
    page.goto(f"{server.base}/webhooks/{sub['guid']}/events")
    expect(page.locator("#h-name")).to_have_text("header-check")
    expect(page.locator("#h-url .truncate")).to_have_attribute("title", sub["url"])
    expect(page.locator("#h-email")).to_have_text("ops@example.com")
    expect(page.locator("#sub-status")).to_have_text("Active")
    expect(page.locator("#h-category")).to_have_text("Stock")
    expect(page.locator("#h-secret")).not_to_contain_text(sub["secret"])
    page.locator("#h-secret").get_by_role("button", name="Reveal secret key").click()
    expect(page.locator("#h-secret")).to_contain_text(sub["secret"])

    page.get_by_role("button", name="Edit webhook").click()
    dialog = page.locator("#webhook-dialog")
    expect(dialog.get_by_label("Event category")).to_be_disabled()
    dialog.get_by_label("Name").fill("header-check renamed")
    dialog.get_by_role("button", name="Save").click()
    expect(page.locator("#h-name")).to_have_text("header-check renamed")

    page.get_by_role("button", name="Edit webhook").click()
    dialog.get_by_role("button", name="Delete").click()
    delete = page.locator("#delete-dialog")
    expect(delete).to_be_visible()
    expect(delete).to_contain_text("contact support")
    delete.get_by_role("button", name="Close").click()
    assert server.call("GET", f"/api/subscriptions/{sub['guid']}")["name"] == "header-check renamed"


def test_events_filters_panel_applies_and_refuses_reversed_dates(page: Any,
                                                                 server: Server) -> None:
    sub = _subscription(server, "filters-check")
    server.call("POST", "/api/events", {"eventCategory": "stock", "count": 2})
    login(page, server)
    page.goto(f"{server.base}/webhooks/{sub['guid']}/events")
    expect(page.locator("#events tbody tr[data-webhook]")).to_have_count(2)
    panel = page.locator("#event-filters")
    expect(panel).to_be_hidden()
    page.get_by_role("button", name="Filters", exact=True).click()
    expect(panel).to_be_visible()
    expect(page.get_by_role("button", name="Filters", exact=True)).to_have_attribute("aria-expanded", "true")
    panel.get_by_label("From").fill("2030-01-10")
    panel.get_by_label("To").fill("2030-01-01")
    panel.get_by_role("button", name="Apply filters").click()
    expect(page.locator("#filter-error")).to_contain_text("end date is before the start date")
    expect(page.locator("#events tbody tr[data-webhook]")).to_have_count(0)   # no stale rows
    panel.get_by_label("From").fill("")
    panel.get_by_label("To").fill("")
    panel.get_by_role("button", name="Apply filters").click()
    expect(page.locator("#events tbody tr[data-webhook]")).to_have_count(2)


def test_add_webhook_shows_every_error_at_once_in_words(page: Any, server: Server) -> None:
    login(page, server)
    page.get_by_role("button", name="Add webhook").click()
    dialog = page.locator("#webhook-dialog")
    dialog.get_by_label("Webhook URL").fill("not a url")
    dialog.get_by_label("Name").fill("")
    dialog.get_by_label("Notification email").fill("not-an-email")
    dialog.get_by_role("button", name="Save").click()
    expect(page.locator("#err-url")).to_contain_text("http:// or https://")
    expect(page.locator("#err-name")).to_contain_text("Enter a name")
    expect(page.locator("#err-notificationEmail")).to_have_text(
        "Enter an email address, like ops@example.com.")
    for field in ("url", "name", "notificationEmail"):
        expect(dialog.locator(f'[name="{field}"]')).to_have_attribute("aria-invalid", "true")
    # What only the server refuses is reworded too: a host name with an underscore.
    dialog.get_by_label("Webhook URL").fill("http://my_host.example/hooks")
    dialog.get_by_label("Name").fill("x")
    dialog.get_by_label("Notification email").fill("ops@example.com")
    dialog.get_by_role("button", name="Save").click()
    expect(page.locator("#err-url")).to_contain_text("The webhook URL")
    expect(page.locator("#err-notificationEmail")).to_be_empty()


def test_home_says_whether_everything_is_healthy(page: Any, server: Server) -> None:
    assert post_message(server, "home-arrival", secret=RECEIVER_SECRET) == 200
    page.goto(server.base + "/login")
    page.get_by_label("Client ID").fill(server.client_id)
    page.get_by_label("Client secret").fill(server.client_secret)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(server.base + "/")
    overview = server.call("GET", "/api/overview")
    statuses = [s["status"] for s in server.call("GET", "/api/subscriptions")["items"]]
    assert overview["subscriptions"]["ACTIVE"] == statuses.count("ACTIVE")
    expect(page.locator("#count-active")).to_have_text(str(statuses.count("ACTIVE")))
    expect(page.locator("#count-stopped")).to_have_text(str(statuses.count("STOPPED")))
    expect(page.locator("#hour-attempts")).not_to_have_text("…")
    expect(page.locator("#health")).not_to_have_text("Checking…")
    expect(page.locator("#arrivals tbody")).to_contain_text("home-arrival")
    expect(page.get_by_role("link", name="Home")).to_have_attribute("aria-current", "page")


def test_restaurants_search_ignores_accents_and_dates_apply(page: Any, server: Server) -> None:
    server.call("POST", "/api/events", {"eventCategory": "partner", "eventType": "partner_added",
                                        "details": {"restaurantName": "Café Olé"}})
    login(page, server)
    page.goto(server.base + "/restaurants")
    rows = page.locator("#restaurants tbody tr")
    page.get_by_label("Search").fill("cafe ole")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Café Olé")
    page.get_by_label("Search").fill("")
    expect(rows.first).not_to_contain_text("No connected")
    page.get_by_label("Connected from").fill("2030-01-10")
    page.get_by_label("to", exact=True).fill("2030-01-01")
    page.locator("#restaurant-filters").get_by_role("button", name="Apply").click()
    expect(page.locator("#restaurant-error")).to_contain_text("end date is before the start date")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("the dates are reversed")
    # The export has the page's columns.
    headings = page.locator("#restaurants thead th").all_inner_texts()
    with urllib.request.urlopen(urllib.request.Request(
            server.base + "/api/restaurants/export.csv",
            headers={"Authorization": f"Bearer {server.token()}"}), timeout=10) as answer:
        first_line = answer.read().decode("utf-8").splitlines()[0]
    assert first_line.split(",") == headings


def test_the_favicon_is_served(server: Server) -> None:
    with urllib.request.urlopen(server.base + "/favicon.ico", timeout=10) as answer:
        assert answer.status == 200
        assert answer.headers["Content-Type"].startswith("image/svg+xml")
        assert answer.read().startswith(b"<svg")


def test_credentials_copy_client_name_and_activity_dates(page: Any, server: Server) -> None:
    login(page, server)
    page.goto(server.base + "/credentials")
    expect(page.locator("#client-name")).not_to_have_text("…")
    copy = page.get_by_role("button", name="Copy client name")
    copy.click()
    expect(copy).to_have_text("Copied")
    page.get_by_role("link", name="Activity log").first.click()
    page.wait_for_url(server.base + "/activity")
    page.get_by_label("From").fill("2030-01-10")
    page.get_by_label("To").fill("2030-01-01")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#activity-error")).to_contain_text("end date is before the start date")
    expect(page.locator("#activity tbody")).to_contain_text("the dates are reversed")
