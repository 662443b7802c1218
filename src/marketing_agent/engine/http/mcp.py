"""``/mcp`` on the engine: the operator's view (functions, events, runs, traces, cancel, rerun) as MCP tools.

The Inngest dev server ships an MCP endpoint so that an engineer can debug with an AI assistant; this is
ours. Every tool is a call to the engine's own ``/v1`` JSON API, made in-process with the caller's
``Authorization`` and ``Cookie`` headers, and ``/mcp`` itself sits behind the same guard as ``/v1``
(``guard.py``): a tool can do exactly what the caller could do with curl, no more.

Streamable HTTP, stateless, JSON answers (any engine process answers any request). Host and Origin are
checked for ``/mcp`` as for every engine path by ``RequestGuard``, so a web page in the operator's browser
cannot drive a dev engine's tools through the loopback trust.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any
from urllib.parse import quote

import httpx
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import Field
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["MCP_PATH", "EngineMcpEndpoint"]

MCP_PATH = "/mcp"
_FORWARDED = ("authorization", "cookie")

RunId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$", description="A run id.")]


class EngineMcpEndpoint:
    """The ASGI endpoint for ``/mcp``; :meth:`running` must wrap the engine's lifespan."""

    def __init__(self, engine_app: ASGIApp) -> None:
        self._engine_app = engine_app
        self.server = _build_server(self._as_caller)
        self.server.streamable_http_app(
            streamable_http_path=MCP_PATH,
            stateless_http=True,
            json_response=True,
            # Host and Origin are checked for every engine path by RequestGuard (request_guard.py).
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
        )
        self._mcp = StreamableHTTPASGIApp(self.server.session_manager)

    def running(self) -> AbstractAsyncContextManager[None]:
        return self.server.session_manager.run()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._mcp(scope, receive, send)

    @asynccontextmanager
    async def _as_caller(self, ctx: Context[Any, Any]) -> AsyncIterator[_V1]:
        incoming = ctx.headers or {}
        headers = {name: incoming[name] for name in _FORWARDED if name in incoming}
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self._engine_app), base_url="http://127.0.0.1", headers=headers
        )
        try:
            yield _V1(http)
        finally:
            await http.aclose()


class _V1:
    """``/v1`` answers as tool results; any non-2xx becomes a tool error with the engine's message."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._http.request(method, path, **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not response.is_success:
            raise ToolError(f"{response.status_code}: {body.get('error', 'request failed')}")
        return body.get("data")


def _build_server(api: Any) -> MCPServer:
    server = MCPServer(
        name="marketing-agent-engine",
        instructions=(
            "Inspect and operate the durable-execution engine: its functions, events and runs. "
            "get_run_trace shows each step, attempt and error of one run."
        ),
    )

    @server.tool(description="The synced functions: id, name, app, triggers and flow-control config.")
    async def list_functions(ctx: Context[Any, Any]) -> dict[str, Any]:
        async with api(ctx) as v1:
            return {"functions": await v1.call("GET", "/v1/functions")}

    @server.tool(description="Send an event (name + data); returns the stored event ids. Runs what it triggers.")
    async def send_event(
        name: Annotated[str, Field(min_length=1, max_length=256)],
        ctx: Context[Any, Any],
        data: dict[str, Any] | None = None,
        id: Annotated[str | None, Field(max_length=256, description="Idempotency id.")] = None,
    ) -> dict[str, Any]:
        event: dict[str, Any] = {"name": name, "data": data or {}}
        if id:
            event["id"] = id
        async with api(ctx) as v1:
            sent: dict[str, Any] = await v1.call("POST", "/v1/events", json=event)
        return sent

    @server.tool(description="Runs, newest first, filtered like the dashboard (status, function, app, event).")
    async def list_runs(
        ctx: Context[Any, Any],
        status: Annotated[
            list[str] | None, Field(description="QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED, SKIPPED")
        ] = None,
        function_id: str | None = None,
        app_id: str | None = None,
        event_id: str | None = None,
        limit: Annotated[int, Field(ge=1, le=200)] = 50,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit}
        if status:
            params["status"] = ",".join(status)
        for key, value in (("function_id", function_id), ("app_id", app_id), ("event_id", event_id)):
            if value:
                params[key] = value
        if cursor:
            params["cursor"] = cursor
        async with api(ctx) as v1:
            return {"runs": await v1.call("GET", "/v1/runs", params=params)}

    @server.tool(description="One run's trace: status, event, output, every step and attempt with its error.")
    async def get_run_trace(run_id: RunId, ctx: Context[Any, Any]) -> dict[str, Any]:
        async with api(ctx) as v1:
            run: dict[str, Any] = await v1.call("GET", f"/v1/runs/{quote(run_id, safe='')}")
        return run

    @server.tool(description="Cancel a queued, running or waiting run.")
    async def cancel_run(run_id: RunId, ctx: Context[Any, Any]) -> dict[str, Any]:
        async with api(ctx) as v1:
            done: dict[str, Any] = await v1.call("POST", f"/v1/runs/{quote(run_id, safe='')}/cancel")
        return done

    @server.tool(description="Run a finished run's function again with the same event; returns the new run id.")
    async def rerun(run_id: RunId, ctx: Context[Any, Any]) -> dict[str, Any]:
        async with api(ctx) as v1:
            done: dict[str, Any] = await v1.call("POST", f"/v1/runs/{quote(run_id, safe='')}/rerun")
        return done

    return server
