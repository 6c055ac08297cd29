"""The dispatcher's tests run a real dispatcher (tests/dispatchers.py) against real targets."""

from tests.dispatchers import (  # noqa: F401  (fixtures)
    Dispatcher, backoff_rules, dispatcher, dispatcher_settings, target,
)
from tests.webhooks import FAST, PATIENT, Target  # noqa: F401 - the folder's tests import them here
