"""``/mcp`` on the API: the user-side MCP server over Streamable HTTP, authenticated with the API key.

Stateless and JSON-only (no server-side session, no SSE stream): every MCP request is one HTTP request,
so any API replica can answer it. The endpoint refuses a missing or unknown key with ``401`` before the
MCP layer sees the request; the tools then call ``/api/v1`` in-process with the same header.

Host and Origin are checked (the SDK's DNS-rebinding protection) against the loopback names and the
API's own public host, so a web page in the user's browser cannot drive a local API's tools.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any
from urllib.parse import urlsplit

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.server.transport_security import TransportSecuritySettings
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from marketing_agent.errors import Unauthorized
from marketing_agent.mcp_server._api import MarketingApi
from marketing_agent.mcp_server.user import build_user_server
from marketing_agent.services import Database, resolve_user_by_api_key

__all__ = ["MCP_PATH", "UserMcpEndpoint"]

MCP_PATH = "/mcp"
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


class UserMcpEndpoint:
    """The ASGI endpoint for ``/mcp``; :meth:`running` must wrap the API's lifespan."""

    def __init__(self, api_app: ASGIApp, database: Database, public_url: str) -> None:
        self._database = database
        self._api_app = api_app
        self.server: MCPServer = build_user_server(self._as_caller)
        self.server.streamable_http_app(
            streamable_http_path=MCP_PATH,
            stateless_http=True,
            json_response=True,
            transport_security=_host_rules(public_url),
        )
        self._mcp = StreamableHTTPASGIApp(self.server.session_manager)

    def running(self) -> AbstractAsyncContextManager[None]:
        return self.server.session_manager.run()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = await self._refusal(scope)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self._mcp(scope, receive, send)

    async def _refusal(self, scope: Scope) -> JSONResponse | None:
        header = _header(scope, b"authorization")
        scheme, _, key = header.partition(" ")
        message = "the Authorization header is missing (Authorization: Bearer <api key>)"
        if header:
            message = "use Authorization: Bearer <api key>"
            if scheme.lower() == "bearer" and key.strip():
                try:
                    await resolve_user_by_api_key(self._database, key.strip())
                    return None
                except Unauthorized as exc:
                    message = exc.message
        return JSONResponse(
            {"error": {"code": "UNAUTHORIZED", "message": message}},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )

    @asynccontextmanager
    async def _as_caller(self, ctx: Context[Any, Any]) -> AsyncIterator[MarketingApi]:
        headers = ctx.headers or {}
        client = MarketingApi.in_process(self._api_app, headers.get("authorization", ""))
        try:
            yield client
        finally:
            await client.aclose()


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return ""


def _host_rules(public_url: str) -> TransportSecuritySettings:
    public = urlsplit(public_url)
    hosts = [f"{h}:*" for h in _LOOPBACK_HOSTS] + [h for h in (public.netloc, f"{public.hostname}") if h]
    origins = [f"{scheme}://{h}:*" for h in _LOOPBACK_HOSTS for scheme in ("http", "https")]
    if public.scheme and public.netloc:
        origins.append(f"{public.scheme}://{public.netloc}")
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)
