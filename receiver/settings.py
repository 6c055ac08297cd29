"""Receiver settings: endpoints, secrets, limits, faults, forwarding, retention."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FaultSettings:
    status: int = 0
    failure_rate: float = 0.0
    delay_ms: int = 0
    hang: bool = False
    close_connection: bool = False
    # Played in order from the moment the faults are set, e.g. ("500:120s", "hang:30s", "ok").
    phases: tuple[str, ...] = ()


@dataclass(frozen=True)
class EndpointSettings:
    name: str
    secrets: tuple[str, ...] = ()
    forward_to: str = ""
    faults: FaultSettings = field(default_factory=FaultSettings)


@dataclass(frozen=True)
class ReceiverSettings:
    enabled: bool = True
    auto_endpoints: bool = False
    # Secrets of every endpoint that lists none of its own (auto endpoints included).
    secrets: tuple[str, ...] = ()
    max_body_bytes: int = 2 * 1024 * 1024
    store_rejected: bool = True
    max_messages: int = 0
    max_age_seconds: float = 0.0
    group_commit_max_batch: int = 256
    forward_to: str = ""
    forward_timeout: float = 10.0
    # A "hang" fault holds the request this long at most (Toast gives up after 2 s).
    hang_seconds: float = 60.0
    endpoints: tuple[EndpointSettings, ...] = ()
