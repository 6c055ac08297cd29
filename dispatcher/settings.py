"""Dispatcher settings: timeouts, retry schedules, back-off rules, demo traffic, SMTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class DispatcherSettings:
    enabled: bool = True
    connect_timeout: float = 2.0
    read_timeout: float = 2.0
    attempt_total_timeout: float = 0.0
    keep_alive: bool = False
    connection_limit: int = 100
    concurrency: int = 64
    user_agent: str = "Apache-HttpClient/4.5.10 (Java/1.8.0_212)"
    retry_delays: tuple[float, ...] = (300.0, 600.0)
    availability_retry_delays: tuple[float, ...] = (2.0, 4.0, 8.0, 16.0, 30.0)
    response_excerpt_bytes: int = 512
    poll_interval: float = 0.5
    block_private_networks: bool = False
    restaurants: int = 12
    seed: int = 0
    # Decisions where Toast is silent or contradicts itself (dispatcher.events.Decisions).
    channel_orders: bool = False
    packaging_event_category: Literal["packaging", "partner"] = "packaging"
    schedule_time_format: Literal["array", "text"] = "array"
    snooze_started_reason: str = "User disabled integration"
    snooze_ended_reason: str = "User enabled integration"


@dataclass(frozen=True)
class DisorderSettings:
    """[disorder]: see :mod:`dispatcher.disorder`; all zero, nothing changes."""

    duplicate_rate: float = 0.0
    duplicate_within: float = 60.0
    reorder_window: float = 0.0
    late_rate: float = 0.0
    late_after: float = 600.0
    seed: int = 0

    @property
    def active(self) -> bool:
        return bool(self.duplicate_rate or self.reorder_window or self.late_rate)


@dataclass(frozen=True)
class BackoffSettings:
    preset: Literal["current", "legacy"] = "current"
    # Zero means "take it from the preset".
    errors_to_pause: int = 0
    error_window_seconds: float = 0.0
    pause_seconds: float = 0.0
    pauses_to_stop: int = 0
    pause_window_seconds: float = 0.0


@dataclass(frozen=True)
class DemoSettings:
    enabled: bool = True
    interval_seconds: float = 5.0


@dataclass(frozen=True)
class SmtpSettings:
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 25
    sender: str = "hooksim@localhost"
    username: str = ""
    password: str = ""
    starttls: bool = False
    timeout: float = 10.0
    retry_interval: float = 60.0
    max_attempts: int = 10
