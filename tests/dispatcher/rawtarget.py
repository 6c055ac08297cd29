"""A webhook target that is a bare TCP socket: it records the exact bytes of every request and
which connection carried it, so tests see what the dispatcher puts on the wire (no HTTP library
between them to add, drop or reorder headers)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RawRequest:
    connection: int          # 1, 2, ... in the order connections were accepted
    head: bytes              # request line and headers, as sent
    body: bytes

    @property
    def request_line(self) -> str:
        return self.head.split(b"\r\n", 1)[0].decode("latin-1")

    @property
    def header_lines(self) -> list[tuple[str, str]]:
        """(name, value) in the order sent, names as spelled on the wire."""
        lines = self.head.decode("latin-1").split("\r\n")[1:]
        return [(name, value.strip()) for name, _, value in (line.partition(":") for line in lines)
                if name]

    def header(self, name: str) -> str | None:
        found = [value for key, value in self.header_lines if key.lower() == name.lower()]
        assert len(found) <= 1, f"{name} sent {len(found)} times"
        return found[0] if found else None


@dataclass
class RawTarget:
    url: str = ""
    requests: list[RawRequest] = field(default_factory=list)
    # What each request is answered with; the body says nothing, as a quick endpoint would.
    answer: bytes = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    trickle: tuple[bytes, float] | None = None   # (answer bytes sent one at a time, pause between)
    connections: int = 0

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        try:
            while True:   # a kept-alive connection carries several requests
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                length = next((int(value) for name, value in RawRequest(0, head, b"").header_lines
                               if name.lower() == "content-length"), 0)
                body = await reader.readexactly(length)
                self.requests.append(RawRequest(number, head[:-4], body))
                if self.trickle is not None:
                    data, pause = self.trickle
                    for index in range(len(data)):
                        writer.write(data[index:index + 1])
                        await writer.drain()
                        await asyncio.sleep(pause)
                else:
                    writer.write(self.answer)
                    await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            writer.close()


@asynccontextmanager
async def raw_target() -> AsyncIterator[RawTarget]:
    target = RawTarget()
    server = await asyncio.start_server(target._serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    target.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield target
    finally:
        server.close()
        await server.wait_closed()
