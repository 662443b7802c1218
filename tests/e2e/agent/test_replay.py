"""The outage story of issue 19: the LLM provider answers 529 for a while, 50 skill runs fail after their
retries; the provider recovers, an engine replay of the last hour re-runs them, and every skill run completes
on its own row with exactly one output (docs/engine.md § Replay)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from marketing_agent.services import create_user, get_skill_run
from support.agent_system import AgentSystem
from support.fake_anthropic import FakeAnthropic, anthropic_error
from support.fake_llm_server import FakeReply, RecordedRequest

RUNS = 50
#: skill-execute throttles run starts per user (10 a minute, spaced 6 s apart, replays too): one run per user
#: keeps the test fast.
USERS = RUNS


class OutageAnthropic(FakeAnthropic):
    """Answers 529 ``overloaded_error`` to every request while ``down``."""

    down = True

    def answer(self, request: RecordedRequest, reply: FakeReply | None) -> tuple[int, dict[str, Any], dict[str, str]]:
        if self.down:
            return 529, anthropic_error(529).body or {}, {}
        return super().answer(request, reply)


@pytest.fixture
def llm() -> Iterator[FakeAnthropic]:
    with OutageAnthropic(default_text="# Homepage hero\n\nShip faster with Acme.\n") as server:
        yield server


async def start_runs(system: AgentSystem) -> list[str]:
    run_ids: list[str] = []
    for u in range(USERS):
        key = (await create_user(system.database, f"replay{u}@example.com")).api_key
        async with httpx.AsyncClient(
            base_url=str(system.api.base_url), headers={"Authorization": f"Bearer {key}"}, timeout=30
        ) as api:
            for i in range(RUNS // USERS):
                reply = await api.post("/runs", json={"skillName": "copywriting", "message": f"Hero {u}-{i}"})
                assert reply.status_code == 202, reply.text
                run_ids.append(str(reply.json()["data"]["runId"]))
    return run_ids


async def wait_all(system: AgentSystem, run_ids: list[str], status: str, timeout: float = 90) -> list[dict[str, Any]]:
    """The runs (as the database sees them: the test users own them) once all have ``status``."""
    deadline = time.monotonic() + timeout
    while True:
        runs = [await get_skill_run(system.database, uuid.UUID(rid)) for rid in run_ids]
        if all(r.status.value == status for r in runs):
            return [{"id": str(r.id), "engine_run_id": r.engine_run_id, "run": r} for r in runs]
        if time.monotonic() > deadline:
            counts: dict[str, int] = {}
            for r in runs:
                counts[r.status.value] = counts.get(r.status.value, 0) + 1
            raise TimeoutError(f"runs not all {status} after {timeout}s: {counts}")
        await asyncio.sleep(0.2)


async def test_replay_after_an_outage_completes_every_failed_run_once(system: AgentSystem) -> None:
    assert isinstance(system.llm, OutageAnthropic)
    since = int(time.time() * 1000) - 3_600_000
    run_ids = await start_runs(system)
    failed = await wait_all(system, run_ids, "failed")
    assert len(system.llm.requests) == RUNS * 4  # retries=3: four attempts each, all answered 529
    first_fn_runs = {f["id"]: f["engine_run_id"] for f in failed}

    system.llm.down = False
    reply = await system.engine.post(
        "/v1/replays",
        json={"function_id": "marketing-agent-skill-execute", "statuses": ["failed"], "since": since, "rate": 100},
    )
    assert reply.status_code == 201, reply.text
    replay = reply.json()["data"]
    assert replay["progress"]["matched"] == RUNS

    done = await wait_all(system, run_ids, "completed")
    for d in done:
        run = d["run"]
        # The same row, a new attempt: the new function run replaced the failed one, the error is gone.
        assert run.error_message is None
        assert d["engine_run_id"] != first_fn_runs[d["id"]]
        assert run.output is not None
        stored = list((system.settings.data_dir / "storage" / "outputs").rglob(f"*-{d['id']}.md"))
        assert len(stored) == 1
    assert len(system.llm.requests) == RUNS * 5

    deadline = time.monotonic() + 30
    while (state := (await system.engine.get(f"/v1/replays/{replay['id']}")).json()["data"])["status"] != "COMPLETED":
        assert time.monotonic() < deadline, state
        await asyncio.sleep(0.1)
    assert state["progress"]["completed"] == RUNS
    for pair in state["runs"]:
        fn_run = (await system.engine.get(f"/v1/runs/{pair['run_id']}")).json()["data"]
        assert fn_run["rerun_of"] == pair["original_run_id"]
    completed_events = await system.events("skill.execute.completed")
    assert sorted(e["payload"]["data"]["runId"] for e in completed_events) == sorted(run_ids)
