"""The running receiver's parts, in one object under one typed app key."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from aiohttp import web

from receiver.endpoints import Endpoints
from receiver.forwarding import Forwarder
from receiver.groupcommit import GroupCommitter
from receiver.settings import ReceiverSettings
from receiver.stream import Hub
from storage.messages import MessageStore


# What the receiver made of a request, for observers (e.g. metrics): accepted as ``verified``,
# ``unverified`` (no secret to check) or ``duplicate``; ``rejected`` (with the error code);
# ``not_stored`` (accepted but the database refused it: a 503).
MessageVerdict = Literal["verified", "unverified", "duplicate", "rejected", "not_stored"]
# (endpoint name, None for a name no endpoint has; verdict; error code or "").
MessageHook = Callable[[str | None, MessageVerdict, str], None]


@dataclass
class Receiver:
    settings: ReceiverSettings
    endpoints: Endpoints
    store: MessageStore
    committer: GroupCommitter
    forwarder: Forwarder
    hub: Hub
    clock: Callable[[], float]  # monotonic seconds: fault schedules
    wall: Callable[[], float]  # epoch seconds: received_at, retention
    rng: random.Random  # failure rates
    stopping: asyncio.Event = field(default_factory=asyncio.Event)  # ends hangs at shutdown
    observers: list[MessageHook] = field(default_factory=list)

    def tell(self, endpoint: str | None, verdict: MessageVerdict, reason: str = "") -> None:
        for observe in self.observers:
            observe(endpoint, verdict, reason)


RECEIVER = web.AppKey("receiver", Receiver)
#: Set by setup_receiver, so other components can add endpoints before and after start-up.
ENDPOINTS = web.AppKey("receiver_endpoints", Endpoints)
