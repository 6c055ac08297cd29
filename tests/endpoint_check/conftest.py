"""The local endpoints of the load tests serve the endpoint checks too."""

from tests.endpoints import endpoint, hanging, quiet_dispatcher_logs, receiver_url  # noqa: F401
