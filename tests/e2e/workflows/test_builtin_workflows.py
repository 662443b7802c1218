"""The four built-in workflows run end to end through the API, every review approved as it comes up."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from support.agent_system import AgentSystem

from .conftest import start_workflow

INPUTS: dict[str, dict[str, Any]] = {
    "landing-page-launch": {"product": "Acme CI, a hosted CI service", "audience": "small dev teams"},
    "email-campaign": {"goal": "convert trial users to paid", "audience": "trial users", "emails": 3},
    "content-batch": {"topic": "faster CI pipelines", "count": 5},
    "competitor-teardown": {"competitor": "SlowCI", "product": "Acme CI"},
}


async def _approve_until_done(system: AgentSystem, wr: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run: dict[str, Any] = (await system.api.get(f"/workflow-runs/{wr}")).json()["data"]
        if run["status"] not in {"running", "awaiting_review"}:
            return run
        for stage in run["stages"]:
            if stage["status"] == "awaiting_review":
                reply = await system.api.post(
                    f"/workflow-runs/{wr}/stages/{stage['name']}/review", json={"decision": "approve"}
                )
                assert reply.status_code == 202, reply.text
        await asyncio.sleep(0.05)
    raise TimeoutError(f"workflow run {wr} did not end in {timeout}s")


async def test_the_four_built_in_workflows_complete(system: AgentSystem) -> None:
    listed = (await system.api.get("/workflows")).json()["data"]
    names = {w["name"] for w in listed["workflows"]}
    assert set(INPUTS) <= names
    for name, inputs in INPUTS.items():
        wr = await start_workflow(system, name, inputs)
        run = await _approve_until_done(system, wr)
        assert run["status"] == "completed", run
        for stage in run["stages"]:
            assert stage["status"] in {"approved", "completed"}, stage
            assert stage["outputId"] is not None
