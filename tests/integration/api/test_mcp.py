"""``/mcp`` on the API through the MCP SDK's own client (Streamable HTTP), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from marketing_agent.agent.skills import load_skill_catalog
from marketing_agent.services import mark_run_completed, mark_run_running, record_output, sync_skills
from support.api_harness import Api

USER_TOOLS = {
    "list_skills",
    "detect_skill",
    "run_skill",
    "get_run",
    "get_output",
    "list_clients",
    "upload_client_file",
    "rate_output",
    "list_workflows",
    "start_workflow",
    "get_workflow_run",
    "review_stage",
}


@pytest.fixture
async def served(api: Api) -> AsyncIterator[Api]:
    """The API with its lifespan running (the MCP session manager lives there), in a task of its own:
    the lifespan's task group must be left from the task that entered it."""
    started, stop = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with api.app.router.lifespan_context(api.app):
            started.set()
            await stop.wait()

    task = asyncio.create_task(hold())
    await started.wait()
    yield api
    stop.set()
    await task


@asynccontextmanager
async def mcp_client(api: Api, key: str | None = None) -> AsyncIterator[Client]:
    http = httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=api.app), headers=api.auth(key), base_url="http://testserver"
    )
    async with http, Client(streamable_http_client("http://testserver/mcp", http_client=http)) as client:
        yield client


async def call(client: Client, tool: str, **arguments: Any) -> Any:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    return json.loads(result.content[0].text)  # type: ignore[union-attr]


async def call_error(client: Client, tool: str, **arguments: Any) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error, result.content
    return str(result.content[0].text)  # type: ignore[union-attr]


async def completed_output(api: Api, run_id: str) -> str:
    await mark_run_running(api.database, run_id, engine_run_id="fr-1")
    key = f"outputs/copywriting/_none/2026-01-01-{run_id}.md"
    await api.store.put(key, b"# Hero\nBuy rockets.")
    output = await record_output(api.database, run_id, storage_key=key, title="Hero", content="# Hero\nBuy rockets.")
    await mark_run_completed(api.database, run_id, tokens_input=1, tokens_output=2, cost_usd=0.0, model="m")
    return str(output.id)


async def test_a_missing_or_wrong_key_is_refused_before_mcp(served: Api) -> None:
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=served.app), base_url="http://testserver") as h:
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
        missing = await h.post("/mcp", json=body)
        wrong = await h.post("/mcp", json=body, headers={"Authorization": "Bearer nope"})
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert "Authorization header is missing" in missing.json()["error"]["message"]
    assert wrong.status_code == 401


async def test_a_foreign_host_is_refused(served: Api) -> None:
    """DNS rebinding: a page served from evil.example that resolves to the API gets nothing."""
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=served.app), base_url="http://evil.example") as h:
        reply = await h.post("/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, headers=served.auth())
    assert reply.status_code in {400, 403, 421}


async def test_tools_and_resources_are_listed(served: Api) -> None:
    async with mcp_client(served) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
    assert tools >= USER_TOOLS
    assert {"output://{output_id}", "skill://{name}"} <= templates


async def test_run_skill_get_run_and_the_output_cycle(served: Api) -> None:
    async with mcp_client(served) as client:
        skills = await call(client, "list_skills")
        assert {s["name"] for s in skills["skills"]} == {"copywriting", "seo-audit"}

        queued = await call(client, "run_skill", skill_name="copywriting", message="A homepage hero")
        assert queued["status"] == "queued"
        run = await call(client, "get_run", run_id=queued["runId"])
        assert run["id"] == queued["runId"]

        output_id = await completed_output(served, queued["runId"])
        output = await call(client, "get_output", output_id=output_id)
        assert output["content"] == "# Hero\nBuy rockets."
        resource = await client.read_resource(f"output://{output_id}")
        assert resource.contents[0].text == "# Hero\nBuy rockets."  # type: ignore[union-attr]
        rated = await call(client, "rate_output", output_id=output_id, overall_score=4, comment="good")
        assert rated["overallScore"] == 4


async def test_run_skill_wait_returns_the_output_when_the_run_ends(served: Api) -> None:
    async with mcp_client(served) as client:
        waiting = asyncio.create_task(
            call(client, "run_skill", skill_name="copywriting", message="Hero", wait=True, wait_seconds=30)
        )
        while not served.events.sent:
            await asyncio.sleep(0.02)
        await completed_output(served, str(served.events.sent[-1].data["runId"]))
        finished = await waiting
    assert finished["status"] == "completed"
    assert finished["outputContent"] == "# Hero\nBuy rockets."


async def test_clients_and_files(served: Api) -> None:
    created = await served.http.post("/api/v1/clients", json={"name": "Acme", "slug": "acme"}, headers=served.auth())
    client_id = created.json()["data"]["id"]
    async with mcp_client(served) as client:
        assert [c["slug"] for c in (await call(client, "list_clients"))["clients"]] == ["acme"]
        saved = await call(client, "upload_client_file", client_id=client_id, path="profile.md", content="# Acme\n")
        assert saved["path"] == "profile.md"
        bad_path = await call_error(client, "upload_client_file", client_id=client_id, path="../x.md", content="x")
    assert "VALIDATION_ERROR" in bad_path


async def test_bad_arguments_are_clear_tool_errors(served: Api) -> None:
    async with mcp_client(served) as client:
        unknown = await call_error(client, "run_skill", skill_name="no-such-skill", message="x")
        score = await call_error(client, "rate_output", output_id=str(uuid.uuid4()), overall_score=9)
        missing = await call_error(client, "run_skill", skill_name="copywriting")
        not_uuid = await call_error(client, "get_run", run_id="../../skills")
    assert "SKILL_NOT_FOUND" in unknown
    assert "overall_score" in score
    assert "message" in missing
    assert "run_id" in not_uuid


async def test_another_users_ids_are_not_found(served: Api) -> None:
    async with mcp_client(served, served.other_key) as eve:
        run_id = (await call(eve, "run_skill", skill_name="copywriting", message="Eve's hero"))["runId"]
    output_id = await completed_output(served, run_id)
    async with mcp_client(served) as ada:
        assert "RUN_NOT_FOUND" in await call_error(ada, "get_run", run_id=run_id)
        assert "OUTPUT_NOT_FOUND" in await call_error(ada, "get_output", output_id=output_id)
        assert "OUTPUT_NOT_FOUND" in await call_error(ada, "rate_output", output_id=output_id, overall_score=5)
        with pytest.raises(MCPError, match="OUTPUT_NOT_FOUND"):
            await ada.read_resource(f"output://{output_id}")


async def test_workflows_start_read_and_review(served: Api) -> None:
    await sync_skills(served.database, (await load_skill_catalog()).all())  # the workflows' skills
    async with mcp_client(served) as client:
        names = {w["name"] for w in (await call(client, "list_workflows"))["workflows"]}
        assert {"landing-page-launch", "email-campaign", "content-batch", "competitor-teardown"} <= names
        started = await call(
            client, "start_workflow", name="email-campaign", inputs={"goal": "trial to paid", "audience": "trials"}
        )
        found = await call(client, "get_workflow_run", workflow_run_id=started["workflowRunId"])
        assert [stage["name"] for stage in found["stages"]] == ["research", "sequence", "edit"]
        early = await call_error(
            client, "review_stage", workflow_run_id=started["workflowRunId"], stage="sequence", decision="approve"
        )
        missing_input = await call_error(client, "start_workflow", name="email-campaign", inputs={"goal": "x"})
        unknown = await call_error(client, "start_workflow", name="no-such-workflow")
        bad_decision = await call_error(
            client, "review_stage", workflow_run_id=started["workflowRunId"], stage="sequence", decision="maybe"
        )
    assert "CONFLICT" in early or "409" in early
    assert "audience" in missing_input
    assert "WORKFLOW_NOT_FOUND" in unknown
    assert "decision" in bad_decision
    async with mcp_client(served, served.other_key) as eve:
        assert "WORKFLOW_RUN_NOT_FOUND" in await call_error(
            eve, "get_workflow_run", workflow_run_id=started["workflowRunId"]
        )
