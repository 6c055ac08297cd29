"""Notification emails: the outbox table, composition, the SMTP sender and the log API.

Helpers shared by the tests: a real SMTP server in-process (aiosmtpd, on its own thread) that
keeps what it receives, a stand-in subscription, and a logger that records what it is told.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from dispatcher.transitions import compose
from storage.notifications import NewNotification

AT = 1_711_638_661.05  # 2024-03-28T15:11:01.050Z, platform time of the transitions in these tests
REFUSED_DOMAIN = "refused.example"  # the server answers 550 to any recipient at this domain


@dataclass(frozen=True)
class Subscription:
    guid: str = "6b1f0c7e-3c1a-4f4e-9a57-1c2d3e4f5a6b"
    name: str = "Stock"
    event_category: str = "stock"
    url: str = "https://example.test/hooks/stock"
    notification_email: str = "ops@example.test"


def paused(subscription: Subscription | None = None, at: float = AT) -> NewNotification:
    """The email for a pause at ``at`` (50 errors in 5 min, first pause, for 60 s)."""
    return compose("PAUSED", subscription or Subscription(), at, 50, 1, at + 60, "50 errors in 5 min")


@dataclass(frozen=True)
class Received:
    sender: str
    recipients: tuple[str, ...]
    message: EmailMessage

    @property
    def body(self) -> str:
        return str(self.message.get_content())


class _Handler:
    def __init__(self) -> None:
        self.received: list[Received] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address.endswith("@" + REFUSED_DOMAIN):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(Received(envelope.mail_from, tuple(envelope.rcpt_tos), message))
        return "250 OK"


def free_port() -> int:
    """A port nothing listens on (yet): connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SmtpServer:
    """aiosmtpd on 127.0.0.1:``port``. With ``logins`` it offers AUTH (without TLS) and accepts
    exactly those ``{username: password}``."""

    def __init__(self, port: int, logins: dict[str, str] | None = None) -> None:
        self.port = port
        self.logins = logins
        self._handler = _Handler()
        self._controller: Controller | None = None

    @property
    def received(self) -> list[Received]:
        return self._handler.received

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                      data: Any) -> AuthResult:
        ok = (isinstance(data, LoginPassword) and self.logins is not None
              and self.logins.get(data.login.decode()) == data.password.decode())
        return AuthResult(success=ok, handled=False)

    def start(self) -> None:
        options: dict[str, Any] = {}
        if self.logins is not None:
            options = {"authenticator": self._authenticate, "auth_required": True,
                       "auth_require_tls": False}
        self._controller = Controller(self._handler, hostname="127.0.0.1", port=self.port, **options)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @classmethod
    @contextmanager
    def running(cls, port: int | None = None, logins: dict[str, str] | None = None
                ) -> Iterator[SmtpServer]:
        """A started server (on a free port unless ``port`` is given), stopped on exit."""
        server = cls(free_port() if port is None else port, logins)
        server.start()
        try:
            yield server
        finally:
            server.stop()


class RecordingLog:
    """Stands in for the structlog logger: keeps ``(level, event, fields)``."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []

    def __getattr__(self, level: str) -> Callable[..., None]:
        def record(event: str, **fields: Any) -> None:
            self.lines.append((level, event, fields))

        return record

    def events(self) -> list[str]:
        return [event for _, event, _ in self.lines]


async def eventually(check: Callable[[], Awaitable[bool] | bool], timeout: float = 5.0) -> None:
    """Wait until ``check()`` is true, polling briefly; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"not true after {timeout} s")
        await asyncio.sleep(0.01)

