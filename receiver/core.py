"""The running receiver's parts, in one object under one typed app key."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from receiver.endpoints import Endpoints
from receiver.forwarding import Forwarder
from receiver.groupcommit import GroupCommitter
from receiver.settings import ReceiverSettings
from receiver.stream import Hub
from storage.messages import MessageStore


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


RECEIVER = web.AppKey("receiver", Receiver)
#: Set by setup_receiver, so other components can add endpoints before and after start-up.
ENDPOINTS = web.AppKey("receiver_endpoints", Endpoints)
