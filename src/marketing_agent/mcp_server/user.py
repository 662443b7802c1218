"""The user-side MCP server: the marketer's skills, runs, outputs and clients as MCP tools and resources.

Every tool is scoped to the caller's API key because every tool is a call to ``/api/v1`` made with that
key (see ``_api.py``): another user's run, output or client is "not found" here exactly as it is there.
Tool errors carry the API's code and message (``RUN_NOT_FOUND: …``, ``VALIDATION_ERROR: … (field: why)``)
so an assistant can correct its call.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Annotated, Any, Literal
from urllib.parse import quote

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from pydantic import Field

from marketing_agent.mcp_server._api import MarketingApi
from marketing_agent.services import SkillRunStatus

__all__ = ["MAX_WAIT_SECONDS", "ApiProvider", "build_user_server"]

#: Opens the API as the caller (in-process with their header, or the configured key over the network).
ApiProvider = Callable[[Context[Any, Any]], AbstractAsyncContextManager[MarketingApi]]

#: The longest ``run_skill(wait=true)`` blocks; an assistant can poll ``get_run`` after that.
MAX_WAIT_SECONDS = 300
_POLL_SECONDS = 0.5

RunId = Annotated[uuid.UUID, Field(description="The run id from run_skill or the API.")]
OutputId = Annotated[uuid.UUID, Field(description="The output id from get_run.")]
ClientId = Annotated[uuid.UUID, Field(description="The client id from list_clients.")]
WorkflowRunId = Annotated[uuid.UUID, Field(description="The workflow run id from start_workflow.")]


def build_user_server(api: ApiProvider) -> MCPServer:
    server = MCPServer(
        name="marketing-agent",
        instructions=(
            "Run marketing skills (copywriting, SEO audits, email sequences…) for the user's clients. "
            "list_skills shows what exists; run_skill starts a run (wait=true returns the output when it "
            "finishes); list_clients gives the client ids that run_skill accepts."
        ),
    )

    @server.tool(description="The skills the agent can run: name, description and type.")
    async def list_skills(ctx: Context[Any, Any]) -> dict[str, Any]:
        async with api(ctx) as client:
            skills: dict[str, Any] = await client.call("GET", "/skills")
        return skills

    @server.tool(description="Which skill fits a request in plain words (the API's /detect).")
    async def detect_skill(
        message: Annotated[str, Field(min_length=1, max_length=10_000, description="The request.")],
        ctx: Context[Any, Any],
    ) -> dict[str, Any]:
        async with api(ctx) as client:
            detected: dict[str, Any] = await client.call("POST", "/detect", json={"message": message})
        return detected

    @server.tool(
        description=(
            "Start a skill run. Returns the run id at once; with wait=true, waits until it ends (at most "
            f"wait_seconds, ≤ {MAX_WAIT_SECONDS}) and returns the run with its output's text."
        )
    )
    async def run_skill(
        skill_name: Annotated[str, Field(min_length=1, max_length=64, description="A name from list_skills.")],
        message: Annotated[str, Field(min_length=1, max_length=10_000, description="What to produce.")],
        ctx: Context[Any, Any],
        client_id: Annotated[uuid.UUID | None, Field(description="A client id from list_clients.")] = None,
        wait: bool = False,
        wait_seconds: Annotated[int, Field(ge=1, le=MAX_WAIT_SECONDS)] = 120,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"skillName": skill_name, "message": message}
        if client_id:
            body["clientId"] = str(client_id)
        async with api(ctx) as client:
            queued: dict[str, Any] = await client.call("POST", "/runs", json=body)
            if not wait:
                return queued
            return await _wait_for_run(client, str(queued["runId"]), wait_seconds)

    @server.tool(description="A run: status, tokens, cost, error, warnings and its output (id, title, preview).")
    async def get_run(run_id: RunId, ctx: Context[Any, Any]) -> dict[str, Any]:
        async with api(ctx) as client:
            run: dict[str, Any] = await client.call("GET", f"/runs/{_segment(run_id)}")
        return run

    @server.tool(description="An output's full text (Markdown) and its metadata.")
    async def get_output(output_id: OutputId, ctx: Context[Any, Any]) -> dict[str, Any]:
        async with api(ctx) as client:
            output: dict[str, Any] = await client.call("GET", f"/outputs/{_segment(output_id)}")
            output["content"] = await client.text(f"/outputs/{_segment(output_id)}/content")
        return output

    @server.tool(description="The user's clients (brands): id, name, slug.")
    async def list_clients(ctx: Context[Any, Any]) -> dict[str, Any]:
        async with api(ctx) as client:
            clients: dict[str, Any] = await client.call("GET", "/clients", params={"limit": 100})
        return clients

    @server.tool(description="Save a Markdown context file for a client (profile.md, voice.md, products/x.md…).")
    async def upload_client_file(
        client_id: ClientId,
        path: Annotated[str, Field(min_length=1, max_length=200, description="e.g. profile.md")],
        content: Annotated[str, Field(max_length=1_000_000, description="The file's Markdown text.")],
        ctx: Context[Any, Any],
    ) -> dict[str, Any]:
        async with api(ctx) as client:
            saved: dict[str, Any] = await client.call(
                "PUT",
                f"/clients/{_segment(client_id)}/files/{_file_path(path)}",
                content=content.encode(),
                headers={"content-type": "text/markdown"},
            )
        return saved

    @server.tool(description="Rate an output 1–5 (overall), with an optional comment.")
    async def rate_output(
        output_id: OutputId,
        overall_score: Annotated[int, Field(ge=1, le=5)],
        ctx: Context[Any, Any],
        comment: Annotated[str | None, Field(max_length=10_000)] = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"outputId": str(output_id), "overallScore": overall_score}
        if comment:
            body["comment"] = comment
        async with api(ctx) as client:
            rated: dict[str, Any] = await client.call("POST", "/feedback", json=body)
        return rated

    @server.tool(description="The workflows (multi-skill campaigns) that can be started: name, inputs, stages.")
    async def list_workflows(ctx: Context[Any, Any]) -> dict[str, Any]:
        async with api(ctx) as client:
            workflows: dict[str, Any] = await client.call("GET", "/workflows")
        return workflows

    @server.tool(
        description=(
            "Start a workflow with its inputs (see list_workflows). Returns the workflow run id; stages that "
            "wait for approval are reviewed with review_stage."
        )
    )
    async def start_workflow(
        name: Annotated[str, Field(min_length=1, max_length=64, description="A name from list_workflows.")],
        ctx: Context[Any, Any],
        inputs: dict[str, str | int | float] | None = None,
        client_id: Annotated[uuid.UUID | None, Field(description="A client id from list_clients.")] = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"inputs": inputs or {}}
        if client_id:
            body["clientId"] = str(client_id)
        async with api(ctx) as client:
            started: dict[str, Any] = await client.call("POST", f"/workflows/{_segment(name)}/runs", json=body)
        return started

    @server.tool(description="A workflow run: status and each stage (status, run ids, output id, revisions).")
    async def get_workflow_run(workflow_run_id: WorkflowRunId, ctx: Context[Any, Any]) -> dict[str, Any]:
        async with api(ctx) as client:
            found: dict[str, Any] = await client.call("GET", f"/workflow-runs/{_segment(workflow_run_id)}")
        return found

    @server.tool(
        description=(
            "Review a stage that awaits review: approve, revise (with notes: the stage runs again, at most 3 "
            "times) or reject (the workflow ends)."
        )
    )
    async def review_stage(
        workflow_run_id: WorkflowRunId,
        stage: Annotated[str, Field(min_length=1, max_length=64)],
        decision: Literal["approve", "revise", "reject"],
        ctx: Context[Any, Any],
        notes: Annotated[str | None, Field(max_length=5_000)] = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"decision": decision}
        if notes:
            body["notes"] = notes
        path = f"/workflow-runs/{_segment(workflow_run_id)}/stages/{_segment(stage)}/review"
        async with api(ctx) as client:
            reviewed: dict[str, Any] = await client.call("POST", path, json=body)
        return reviewed

    @server.resource("output://{output_id}", mime_type="text/markdown", description="An output's Markdown text.")
    async def output_resource(output_id: str, ctx: Context[Any, Any]) -> str:
        async with api(ctx) as client:
            try:
                return await client.text(f"/outputs/{_segment(output_id)}/content")
            except ToolError as exc:
                raise ResourceNotFoundError(str(exc)) from exc

    @server.resource("skill://{name}", mime_type="application/json", description="A skill's description.")
    async def skill_resource(name: str, ctx: Context[Any, Any]) -> dict[str, Any]:
        async with api(ctx) as client:
            try:
                skill: dict[str, Any] = await client.call("GET", f"/skills/{_segment(name)}")
            except ToolError as exc:
                raise ResourceNotFoundError(str(exc)) from exc
        return skill

    return server


async def _wait_for_run(client: MarketingApi, run_id: str, wait_seconds: int) -> dict[str, Any]:
    deadline = time.monotonic() + wait_seconds
    while True:
        run: dict[str, Any] = await client.call("GET", f"/runs/{_segment(run_id)}")
        if SkillRunStatus(run["status"]).is_terminal:
            output = run.get("output")
            if output:
                run["outputContent"] = await client.text(f"/outputs/{_segment(str(output['id']))}/content")
            return run
        if time.monotonic() >= deadline:
            run["note"] = f"still {run['status']} after {wait_seconds}s; call get_run with this runId later"
            return run
        await asyncio.sleep(_POLL_SECONDS)


def _segment(value: str | uuid.UUID) -> str:
    """An id as one URL path segment: ``../x`` or ``a/b`` can never reach another route."""
    return quote(str(value), safe="")


def _file_path(path: str) -> str:
    """A client file path sent as written: dot segments are encoded so the HTTP client cannot resolve
    ``../`` away before the API's own path check sees (and refuses) it."""
    return "/".join(
        quote(part, safe="").replace(".", "%2E") if part in {".", ".."} else quote(part, safe="")
        for part in path.split("/")
    )
