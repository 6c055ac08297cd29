"""Reuse the receiver suite's harness (a real receiver app on 127.0.0.1 per test)."""

from tests.receiver_app import make_receiver# noqa: F401 - a fixture
