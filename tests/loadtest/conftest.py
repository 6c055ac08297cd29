"""Load tests run against the local endpoints of tests/endpoints.py."""

from tests.endpoints import endpoint, hanging, quiet_dispatcher_logs, receiver_url  # noqa: F401
