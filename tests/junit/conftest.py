"""The load tests' local endpoints serve the JUnit tests too."""

from tests.endpoints import endpoint, quiet_dispatcher_logs, receiver_url  # noqa: F401
