"""Typed, immutable settings: the composition of every component's own settings section.

Defaults here mirror config.toml. Loading (files, environment, validation) lives in
:mod:`hooksim.config`. Components define their own sections, so they never import hooksim.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from dispatcher.settings import (BackoffSettings, DemoSettings, DisorderSettings, DispatcherSettings,
                                 SmtpSettings)
from receiver.settings import ReceiverSettings
from storage.settings import StorageSettings


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    shutdown_timeout: float = 10.0
    # Server-side guards against slow or hostile clients (seconds).
    keepalive_timeout: float = 75.0
    read_timeout: float = 30.0
    # auto: uvloop where it is installed (Linux, macOS), else asyncio's own loop.
    event_loop: Literal["auto", "uvloop", "asyncio"] = "auto"
    # Once started: freeze the start-up heap and run the young-generation collection every this
    # many allocations (hooksim.runner.tune_gc); 0 leaves Python's collector as it is.
    gc_young_threshold: int = 10_000
    # Which parts this process runs (hooksim.roles); "all" is the single-process hooksim.
    role: Literal["all", "dispatcher", "receiver", "api"] = "all"


@dataclass(frozen=True)
class LogSettings:
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


@dataclass(frozen=True)
class ClockSettings:
    # The most platform seconds per wall second. In one process (role "all", no origin) time is
    # exact: idle waits are skipped up to this scale, attempts in flight take real time.
    time_scale: float = 1.0
    # Epoch seconds where scaled platform time starts (0: this process's start). Processes of
    # one deployment with time_scale != 1 need the same value, or they disagree on the time.
    origin: float = 0.0


@dataclass(frozen=True)
class AuthSettings:
    client_name: str = "hooksim"
    credentials_file: str = "hooksim-credentials.json"
    token_ttl_seconds: int = 3600
    login_attempts_per_minute: int = 10


@dataclass(frozen=True)
class MetricsSettings:
    # Serve GET /metrics (Prometheus text format).
    enabled: bool = True
    # auto: open while server.host is loopback, a bearer token otherwise | open | token.
    access: Literal["auto", "open", "token"] = "auto"
    # The bearer token a scraper sends; "" = only hooksim's own access tokens (POST
    # /api/authentication/login) open it. Never logged.
    token: str = ""


@dataclass(frozen=True)
class Settings:
    server: ServerSettings = field(default_factory=ServerSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
    log: LogSettings = field(default_factory=LogSettings)
    clock: ClockSettings = field(default_factory=ClockSettings)
    dispatcher: DispatcherSettings = field(default_factory=DispatcherSettings)
    backoff: BackoffSettings = field(default_factory=BackoffSettings)
    disorder: DisorderSettings = field(default_factory=DisorderSettings)
    demo: DemoSettings = field(default_factory=DemoSettings)
    receiver: ReceiverSettings = field(default_factory=ReceiverSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)

