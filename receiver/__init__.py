"""The receiver: a local webhook target that verifies, stores, inspects, forwards and fails on
purpose. :func:`setup_receiver` adds it to an aiohttp app."""

from receiver.app import prune_once, setup_receiver
from receiver.running import ENDPOINTS, RECEIVER

__all__ = ["ENDPOINTS", "RECEIVER", "prune_once", "setup_receiver"]
