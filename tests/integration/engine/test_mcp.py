"""The operator's MCP endpoint on the engine, through the MCP SDK's own client over real HTTP."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import httpx2
import inngest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from integration.engine.harness import EngineClient, engine_and_app, engine_in_process

OPERATOR_TOOLS = {"list_functions", "send_event", "list_runs", "get_run_trace", "cancel_run", "rerun"}


def build(client: inngest.Inngest) -> list[inngest.Function[object]]:
    @client.create_function(fn_id="traced", retries=0, trigger=inngest.TriggerEvent(event="t/traced"))
    async def traced(ctx: inngest.Context) -> str:
        await ctx.step.run("fetch", lambda: {"rows": 3})

        async def broken() -> None:
            raise ValueError("upstream said no")

        with contextlib.suppress(inngest.StepError):
            await ctx.step.run("write", broken)
        return "done"

    return [traced]


@asynccontextmanager
async def operator(engine: EngineClient, token: str | None = None) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers) as http,
        Client(streamable_http_client(f"{engine.url}/mcp", http_client=http)) as client,
    ):
        yield client


async def call(client: Client, tool: str, **arguments: Any) -> Any:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    return json.loads(result.content[0].text)  # type: ignore[union-attr]


async def call_error(client: Client, tool: str, **arguments: Any) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error, result.content
    return str(result.content[0].text)  # type: ignore[union-attr]


async def test_operator_tools_trace_and_rerun(database_url: str) -> None:
    with engine_and_app(database_url, "mcp-app", build) as (engine, _):
        async with operator(engine) as client:
            assert {t.name for t in (await client.list_tools()).tools} >= OPERATOR_TOOLS
            functions = (await call(client, "list_functions"))["functions"]
            assert [f["id"] for f in functions] == ["mcp-app-traced"]

            sent = await call(client, "send_event", name="t/traced", data={"order": 7})
            (run,) = engine.runs_of_event(sent["ids"][0])
            engine.wait_run(run["id"])
            runs = (await call(client, "list_runs", status=["COMPLETED"], function_id="mcp-app-traced"))["runs"]
            assert [r["id"] for r in runs] == [run["id"]]

            trace = await call(client, "get_run_trace", run_id=run["id"])
            steps = {s["name"]: s for s in trace["steps"]}
            assert steps["fetch"]["status"] == "completed"
            assert steps["write"]["memo"]["error"]["message"] == "upstream said no"
            assert trace["attempts"]

            again = await call(client, "rerun", run_id=run["id"])
            assert engine.wait_run(again["run_id"])["status"] == "COMPLETED"
            assert (await call(client, "cancel_run", run_id=run["id"])) == {"cancelled": False}


async def test_bad_arguments_are_clear_tool_errors(database_url: str) -> None:
    with engine_in_process(database_url) as engine:
        async with operator(engine) as client:
            bogus = await call_error(client, "list_runs", status=["BOGUS"])
            path = await call_error(client, "get_run_trace", run_id="../v1/apps")
            missing = await call_error(client, "get_run_trace", run_id="01NOPE")
            no_name = await call_error(client, "send_event", data={"x": 1})
    assert "unknown status BOGUS" in bogus
    assert "run_id" in path
    assert "404" in missing
    assert "name" in no_name


async def test_off_dev_mode_mcp_needs_the_dashboard_token(database_url: str) -> None:
    key = "signkey-prod-0123456789abcdef0123456789abcdef"
    overrides = {"dev": False, "signing_key": key, "event_keys": ("k",), "dashboard_token": "operator-token"}
    with engine_in_process(database_url, **overrides) as engine:
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        assert httpx.post(f"{engine.url}/mcp", json=body).status_code == 401
        async with operator(engine, "operator-token") as client:
            assert (await call(client, "list_functions")) == {"functions": []}


async def test_a_foreign_host_is_refused(database_url: str) -> None:
    with engine_in_process(database_url) as engine:
        reply = httpx.post(
            f"{engine.url}/mcp",
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
            headers={"Host": "rebound.example:8288", "Accept": "application/json, text/event-stream"},
        )
    assert reply.status_code in {400, 403, 421}
