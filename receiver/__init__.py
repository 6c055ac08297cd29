"""The receiver: a local webhook target that verifies, stores, inspects, forwards and fails on
purpose. :func:`setup_receiver` adds it to an aiohttp app.

Where a change belongs: what ``/hooks/{name}`` checks and answers in :mod:`receiver.hooks`; a
fault in :mod:`receiver.faults` (pure); an inspection route in :mod:`receiver.inspect_api` with
the HTTP toolkit (:mod:`web`); a message's JSON in :mod:`receiver.message_json`; its storage in
``storage.messages``. ``receiver`` never imports ``dispatcher``."""

from receiver.app import prune_once, setup_receiver
from receiver.running import ENDPOINTS, RECEIVER

__all__ = ["ENDPOINTS", "RECEIVER", "prune_once", "setup_receiver"]
