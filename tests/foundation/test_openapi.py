"""docs/openapi.yaml is valid OpenAPI and documents every /api route the app serves, and no more."""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate

from hooksim.app import build_app
from hooksim.config import load_settings

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"


def documented() -> dict[str, set[str]]:
    spec = yaml.safe_load(OPENAPI.read_text())
    validate(spec)   # a valid OpenAPI 3.1 document, or this raises naming the problem
    methods = {"get", "post", "put", "patch", "delete"}
    return {path: {m.upper() for m in item if m in methods} for path, item in spec["paths"].items()}


def test_every_api_route_is_documented(tmp_path: Path) -> None:
    app = build_app(load_settings(None, environ={}))
    docs = documented()
    served = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if path.startswith("/api/") and route.method not in ("HEAD", "OPTIONS"):
            served.add((path, route.method))
    assert served, "the app serves no /api routes?"
    missing = sorted(f"{m} {p}" for p, m in served if m not in docs.get(p, set()))
    assert not missing, f"routes missing from docs/openapi.yaml: {missing}"
    stale = sorted(f"{m} {p}" for p, ms in docs.items() for m in ms if (p, m) not in served)
    assert not stale, f"documented but not served: {stale}"


def test_the_published_patterns_are_the_servers_own() -> None:
    """Schemathesis (tests/conformance) generates from these patterns; the server checks with
    the same ones, so a value is valid for both or for neither."""
    from dispatcher.service import EMAIL_PATTERN, URL_PATTERN
    from storage.query import CURSOR_PATTERN

    spec = yaml.safe_load(OPENAPI.read_text())
    schemas = spec["components"]["schemas"]
    assert schemas["WebhookUrl"]["pattern"] == URL_PATTERN
    assert schemas["Email"]["pattern"] == EMAIL_PATTERN
    cursor = spec["components"]["parameters"]["cursor"]["schema"]["pattern"]
    assert cursor == "^(" + CURSOR_PATTERN.strip("^$") + ")?$"   # or empty: the first page
    events = spec["paths"]["/api/events"]["post"]["requestBody"]["content"]["application/json"]
    from dispatcher import events as catalogue
    shapes = {s["properties"]["eventCategory"]["const"]: s["properties"]["eventType"]["enum"]
              for s in events["schema"]["oneOf"] if "snooze" not in s["properties"]}
    assert shapes == {c: [*catalogue.event_types(c), None] for c in catalogue.categories()}


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_every_url_and_address_the_schema_calls_valid_is_taken(data: st.DataObject) -> None:
    from dispatcher.service import EMAIL_PATTERN, URL_PATTERN, check_email, check_url

    url = data.draw(st.from_regex(URL_PATTERN))
    assert check_url(url, block_private_networks=False)
    assert check_email(data.draw(st.from_regex(EMAIL_PATTERN)))


def test_the_error_vocabulary_is_the_servers_own() -> None:
    """The Error schema lists exactly web.errors.CODES, and the Time schema's epoch pattern is
    the one web.times accepts."""
    from web.errors import CODES
    from web.times import _EPOCH_TEXT

    schemas = yaml.safe_load(OPENAPI.read_text())["components"]["schemas"]
    assert schemas["Error"]["properties"]["error"]["enum"] == list(CODES)
    patterns = [s["pattern"] for s in schemas["Time"]["anyOf"] if "pattern" in s]
    assert patterns == ["^" + _EPOCH_TEXT.pattern + "$"]
