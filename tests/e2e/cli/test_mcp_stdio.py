"""``marketing-agent mcp`` over stdio, driven by the MCP SDK's own client, against a served API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from support.net import free_port, wait_for_port

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "marketing_agent"]


@pytest.fixture
def served_api(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """``marketing-agent api`` in a subprocess on SQLite, and a user's key."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("INNGEST_", "DATABASE_", "API_"))},
        "DATA_DIR": str(tmp_path / "data"),
        "API_PORT": str(free_port()),
        "INNGEST_BASE_URL": f"http://127.0.0.1:{free_port()}",  # no engine: runs stay queued
        "INNGEST_DEV": "1",
    }
    created = subprocess.run(
        [*CLI, "users", "create", "--email", "ada@example.com", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    key = json.loads(created.stdout)["api_key"]
    api = subprocess.Popen([*CLI, "api"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(int(env["API_PORT"]))
        yield f"http://127.0.0.1:{env['API_PORT']}", key
    finally:
        api.terminate()
        api.wait(timeout=30)


def _server(api_url: str, key: str | None) -> StdioServerParameters:
    env = {"PATH": os.environ.get("PATH", ""), "MARKETING_AGENT_API_URL": api_url}
    if key:
        env["MARKETING_AGENT_API_KEY"] = key
    return StdioServerParameters(command=sys.executable, args=["-m", "marketing_agent", "mcp"], env=env)


async def test_stdio_server_lists_and_calls_tools(served_api: tuple[str, str]) -> None:
    api_url, key = served_api
    async with Client(_server(api_url, key)) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        skills = await client.call_tool("list_skills", {})
        unknown = await client.call_tool("run_skill", {"skill_name": "nope", "message": "hi"})
        bad = await client.call_tool("get_run", {"run_id": "not-a-uuid"})
    assert {"list_skills", "run_skill", "get_run", "get_output", "list_clients", "rate_output"} <= tools
    assert not skills.is_error
    names = {s["name"] for s in json.loads(skills.content[0].text)["skills"]}  # type: ignore[union-attr]
    assert "copywriting" in names
    assert unknown.is_error
    assert bad.is_error
    assert "run_id" in bad.content[0].text  # type: ignore[union-attr]


def test_stdio_server_needs_a_key(served_api: tuple[str, str]) -> None:
    api_url, _ = served_api
    env = {**os.environ, "MARKETING_AGENT_API_URL": api_url}
    env.pop("MARKETING_AGENT_API_KEY", None)
    done = subprocess.run([*CLI, "mcp"], check=False, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert done.returncode == 2
    assert "MARKETING_AGENT_API_KEY" in done.stderr
