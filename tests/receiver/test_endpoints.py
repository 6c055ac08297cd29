"""receiver.endpoints: auto endpoints are made once per name, and names cannot grow memory."""

from __future__ import annotations

from receiver.endpoints import MAX_NAME_LENGTH, Endpoints
from receiver.settings import EndpointSettings, FaultSettings, ReceiverSettings


def _endpoints(**settings: object) -> Endpoints:
    return Endpoints(ReceiverSettings(secrets=("s",), **settings), clock=lambda: 0.0)


def test_an_auto_endpoint_is_made_once_and_has_the_receivers_secrets() -> None:
    endpoints = _endpoints(auto_endpoints=True)
    first = endpoints.get("orders")
    assert first is not None and first.secrets == ("s",) and not first.configured
    assert endpoints.get("orders") is first


def test_names_outside_the_rule_are_no_endpoint() -> None:
    endpoints = _endpoints(auto_endpoints=True)
    for name in ("", "a b", "x" * (MAX_NAME_LENGTH + 1), "é", "a/b"):
        assert endpoints.get(name) is None
    assert endpoints.get("x" * MAX_NAME_LENGTH) is not None


def test_without_auto_endpoints_only_configured_names_are_endpoints() -> None:
    endpoints = _endpoints(endpoints=(EndpointSettings("orders"),))
    assert endpoints.get("orders") is not None and endpoints.get("other") is None


def test_faults_set_on_an_auto_endpoint_are_what_get_returns_next() -> None:
    endpoints = _endpoints(auto_endpoints=True)
    before = endpoints.get("orders")
    endpoints.set_faults("orders", FaultSettings(status=500))
    after = endpoints.get("orders")
    assert after is not before and after is not None and after.faults.settings.status == 500
    endpoints.configure("orders", ("new",))
    configured = endpoints.get("orders")
    assert configured is not None and configured.secrets == ("new",)
    assert configured.faults.settings.status == 500


def test_a_scanner_trying_names_does_not_grow_memory() -> None:
    endpoints = _endpoints(auto_endpoints=True)
    for i in range(5_000):
        endpoints.get(f"scan-{i}")
        endpoints.get(f"bad name {i}")
    assert endpoints._auto.cache_info().currsize <= 1024
    assert endpoints.all() == []   # nothing remembered as configured
