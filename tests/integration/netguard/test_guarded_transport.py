"""The guarded transport against real loopback servers: refused connections are never opened."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest

from marketing_agent.netguard import AllowList, BlockedAddressError, check_url, guarded_transport


@dataclass
class CountingServer:
    """A tiny HTTP/1.1 server that counts connections; answers 200 or a redirect to ``location``."""

    host: str
    location: str | None = None
    connections: int = 0
    port: int = 0
    _server: asyncio.Server | None = field(default=None, repr=False)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        await reader.readuntil(b"\r\n\r\n")
        if self.location:
            head = f"HTTP/1.1 302 Found\r\nLocation: {self.location}\r\ncontent-length: 0\r\n"
            body = b""
        else:
            body = b"hello"
            head = f"HTTP/1.1 200 OK\r\ncontent-length: {len(body)}\r\n"
        writer.write(head.encode() + b"connection: close\r\n\r\n" + body)
        await writer.drain()
        writer.close()


@pytest.fixture
async def target() -> AsyncIterator[CountingServer]:
    server = CountingServer("127.0.0.2")
    await server.start()
    yield server
    await server.stop()


async def test_loopback_is_refused_before_any_connection(target: CountingServer) -> None:
    async with httpx.AsyncClient(transport=guarded_transport(AllowList())) as client:
        with pytest.raises(BlockedAddressError):
            await client.get(f"http://127.0.0.2:{target.port}/")
    assert target.connections == 0


async def test_allow_listed_host_is_reached(target: CountingServer) -> None:
    allow = AllowList.parse(f"127.0.0.2:{target.port}")
    async with httpx.AsyncClient(transport=guarded_transport(allow)) as client:
        response = await client.get(f"http://127.0.0.2:{target.port}/")
    assert response.text == "hello"
    assert target.connections == 1


async def test_redirect_to_a_private_address_is_refused(target: CountingServer) -> None:
    redirector = CountingServer("127.0.0.3", location=f"http://localhost:{target.port}/secret")
    await redirector.start()
    try:
        allow = AllowList.parse(f"127.0.0.3:{redirector.port}")
        async with httpx.AsyncClient(transport=guarded_transport(allow), follow_redirects=True) as client:
            with pytest.raises(BlockedAddressError, match="localhost"):
                await client.get(f"http://127.0.0.3:{redirector.port}/")
    finally:
        await redirector.stop()
    assert redirector.connections == 1
    assert target.connections == 0


async def test_dns_rebinding_is_caught_at_connect_time(target: CountingServer) -> None:
    """A name that looks public when checked but points at loopback when connecting is still refused."""
    answers = iter([["93.184.216.34"], ["127.0.0.2"]])

    async def rebinding(host: str, port: int) -> list[str]:
        return next(answers)

    await check_url(f"http://rebind.test:{target.port}/", AllowList(), resolver=rebinding)  # first answer: public
    async with httpx.AsyncClient(transport=guarded_transport(AllowList(), resolver=rebinding)) as client:
        with pytest.raises(BlockedAddressError, match=r"127\.0\.0\.2"):
            await client.get(f"http://rebind.test:{target.port}/")
    assert target.connections == 0
