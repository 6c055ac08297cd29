"""The receiver's tests: a real receiver app per test (tests.receiver_app), webhooks as the platform
sends them (tests.webhooks)."""

from tests.receiver_app import Harness, MakeReceiver, default_settings, make_receiver  # noqa: F401
from tests.webhooks import SECRET, envelope, signed  # noqa: F401
