"""``marketing-agent schedules add|list|rm`` as a subprocess against the running API."""

from __future__ import annotations

import asyncio
import os
import sys

from support.agent_system import AgentSystem


async def _cli(system: AgentSystem, *args: str) -> tuple[int, str, str]:
    key = system.api.headers["Authorization"].removeprefix("Bearer ")
    env = {**os.environ, "MARKETING_AGENT_API_URL": system.settings.api_url, "MARKETING_AGENT_API_KEY": key}
    # Not subprocess.run: the API answers from this process's event loop, which must keep running.
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "marketing_agent", "schedules", *args,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_add_list_and_remove_a_schedule(system: AgentSystem) -> None:
    code, out, err = await _cli(
        system, "add", "--cron", "0 9 * * 1", "--timezone", "Europe/Berlin", "--workflow", "diamond",
        "--input", "product=Acme CI",
    )  # fmt: skip
    assert code == 0, err
    schedule_id = out.split()[1]
    code, out, _ = await _cli(system, "list")
    assert code == 0
    assert schedule_id in out
    assert "workflow diamond" in out
    code, out, err = await _cli(system, "rm", schedule_id)
    assert code == 0, err
    assert (await system.api.get("/schedules")).json()["data"]["total"] == 0


async def test_bad_input_exits_2_naming_what_is_wrong(system: AgentSystem) -> None:
    code, _, err = await _cli(system, "add", "--cron", "every monday", "--skill", "copywriting", "--message", "x")
    assert code == 2
    assert "cron" in err
    code, _, err = await _cli(system, "add", "--cron", "0 9 * * 1", "--workflow", "diamond", "--input", "product")
    assert code == 2
    assert "NAME=VALUE" in err
