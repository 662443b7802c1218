"""A cancelled run stays cancelled: the function never completes or announces it."""

from __future__ import annotations

import asyncio

from support.agent_system import AgentSystem
from support.fake_llm_server import FakeReply


async def test_cancelling_a_running_run_keeps_it_cancelled(system: AgentSystem) -> None:
    system.llm.enqueue(FakeReply(delay=1.5))  # the LLM is slow: cancel while it works
    run_id = await system.start_run()
    for _ in range(200):
        if (await system.api.get(f"/runs/{run_id}")).json()["data"]["status"] == "running" and system.llm.requests:
            break
        await asyncio.sleep(0.02)
    cancelled = await system.api.post(f"/runs/{run_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text

    # Once the function run has ended nothing calls the function again, so what we see now is final.
    [fn_run] = await system.wait_engine_runs("skill-execute")
    assert fn_run["status"] in {"CANCELLED", "COMPLETED"}  # stopped by the engine, or ended by the function
    run = (await system.api.get(f"/runs/{run_id}")).json()["data"]
    assert run["status"] == "cancelled"
    assert await system.events("skill.execute.completed") == []
    assert await system.events("skill.execute.failed") == []
