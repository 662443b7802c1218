"""Schedules through the API and the engine: validation, and exactly one run per due time however often
the tick runs — twice on one engine, on two engines sharing a PostgreSQL store, or with a resent event."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from marketing_agent.db.models import ScheduleRow
from marketing_agent.db.types import utcnow
from marketing_agent.engine import EngineConfig, create_engine_app
from marketing_agent.services import SCHEDULE_FIRED
from support.agent_system import AgentSystem, agent_system, system_settings
from support.fake_anthropic import FakeAnthropic
from support.fake_telegram import FakeTelegram
from support.function_stack import serve_app, stop_app
from support.net import free_port

from .conftest import write_workflows

TICK = "marketing-agent-schedule-tick"


async def _make_due(system: AgentSystem, schedule_id: str, minutes_ago: int = 5) -> None:
    """As if the engines had been down: the schedule was due ``minutes_ago`` (several fires missed)."""
    async with system.database.transaction() as session:
        await session.execute(
            update(ScheduleRow)
            .where(ScheduleRow.id == uuid.UUID(schedule_id))
            .values(next_fire_at=utcnow() - timedelta(minutes=minutes_ago))
        )


async def _tick(engine: httpx.AsyncClient) -> None:
    reply = await engine.post(f"/v1/functions/{TICK}/invoke", json={"data": {}})
    assert reply.status_code == 201, reply.text


async def _schedule(system: AgentSystem, **body: Any) -> dict[str, Any]:
    reply = await system.api.post("/schedules", json=body)
    assert reply.status_code == 201, reply.text
    data: dict[str, Any] = reply.json()["data"]
    return data


async def _wait_fires(system: AgentSystem, schedule_id: str, count: int, timeout: float = 30) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        [schedule] = [
            s for s in (await system.api.get("/schedules")).json()["data"]["schedules"] if s["id"] == schedule_id
        ]
        fires: list[dict[str, Any]] = schedule["lastRuns"]
        if len(fires) >= count and all(f["runId"] or f["workflowRunId"] or f["errorMessage"] for f in fires):
            return fires
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(fires)} of {count} fires after {timeout}s: {schedule}")
        await asyncio.sleep(0.05)


async def _ended_runs(system: AgentSystem, function: str) -> int:
    return len(await system.engine_runs(function))


async def _wait_ended(system: AgentSystem, function: str, count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while await _ended_runs(system, function) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{function}: fewer than {count} runs ended")
        await asyncio.sleep(0.05)


@pytest.fixture
async def system(tmp_path: Path, llm: FakeAnthropic, telegram: FakeTelegram) -> AsyncIterator[AgentSystem]:
    settings = system_settings(tmp_path, f"sqlite:///{tmp_path / 'app.db'}", llm, telegram)
    settings = settings.model_copy(
        update={"workflows_dir": write_workflows(tmp_path / "workflows"), "api_rate_limit_per_minute": 0}
    )
    async with agent_system(settings, llm, telegram) as running:
        yield running


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"skillName": "copywriting", "message": "x", "cron": "61 * * * *", "timezone": "UTC"}, "cron"),
        ({"skillName": "copywriting", "message": "x", "cron": "* * * *", "timezone": "UTC"}, "cron"),
        ({"skillName": "copywriting", "message": "x", "cron": "0 9 * * 1", "timezone": "Mars/Olympus"}, "timezone"),
        ({"workflow": "diamond", "inputs": {}, "cron": "0 9 * * 1", "timezone": "UTC"}, "inputs.product"),
        ({"skillName": "copywriting", "workflow": "diamond", "cron": "0 9 * * 1", "timezone": "UTC"}, "skillName"),
    ],
)
async def test_bad_schedules_are_422_naming_the_field(system: AgentSystem, body: dict[str, Any], field: str) -> None:
    reply = await system.api.post("/schedules", json=body)
    assert reply.status_code == 422, reply.text
    assert reply.json()["error"]["details"][0]["field"] == field


async def test_schedule_lifecycle_and_next_fire_time(system: AgentSystem) -> None:
    created = await _schedule(
        system, skillName="copywriting", message="Weekly hero.", cron="0 9 * * 1", timezone="Europe/Berlin"
    )
    assert created["kind"] == "skill"
    assert created["nextFireAt"] is not None
    assert created["lastRuns"] == []
    paused = (await system.api.post(f"/schedules/{created['id']}/pause")).json()["data"]
    assert paused["paused"] is True
    assert paused["nextFireAt"] is None
    resumed = (await system.api.post(f"/schedules/{created['id']}/resume")).json()["data"]
    assert resumed["nextFireAt"] == created["nextFireAt"]
    assert (await system.api.delete(f"/schedules/{created['id']}")).status_code == 200
    assert (await system.api.post(f"/schedules/{created['id']}/pause")).status_code == 404
    assert (await system.api.get("/schedules")).json()["data"]["total"] == 0


async def test_a_due_skill_schedule_fires_once_for_its_missed_fires(system: AgentSystem) -> None:
    schedule = await _schedule(system, skillName="copywriting", message="Hero.", cron="0 * * * *", timezone="UTC")
    await _make_due(system, schedule["id"], minutes_ago=180)  # three missed hourly fires
    await _tick(system.engine)
    [fire] = await _wait_fires(system, schedule["id"], 1)
    run = await system.wait_run(fire["runId"])
    assert run["status"] == "completed"
    [listed] = (await system.api.get("/schedules")).json()["data"]["schedules"]
    assert listed["nextFireAt"] > fire["fireAt"]
    # A second tick, and the same fire event again under another id (a second engine that missed the
    # dedup): the fire is claimed in the database already, so nothing more starts.
    await _tick(system.engine)
    await _wait_ended(system, "schedule-tick", 2)
    resend = await system.engine.post(
        "/e/local",
        json={
            "name": SCHEDULE_FIRED,
            "id": "another-id",
            "data": {"scheduleId": schedule["id"], "fireAt": fire["fireAt"]},
        },
    )
    assert resend.status_code == 200, resend.text
    await _wait_ended(system, "schedule-fire", 2)
    assert len(await _wait_fires(system, schedule["id"], 1)) == 1
    assert (await system.api.get("/runs")).json()["data"]["total"] == 1


async def test_a_workflow_schedule_starts_a_workflow_run(system: AgentSystem) -> None:
    schedule = await _schedule(
        system, workflow="diamond", inputs={"product": "Acme CI"}, cron="*/5 * * * *", timezone="UTC"
    )
    await _make_due(system, schedule["id"])
    await _tick(system.engine)
    [fire] = await _wait_fires(system, schedule["id"], 1)
    run = (await system.api.get(f"/workflow-runs/{fire['workflowRunId']}")).json()["data"]
    assert run["workflow"] == "diamond"
    assert run["scheduleId"] == schedule["id"]


@pytest.mark.postgres
async def test_two_engines_on_postgresql_fire_a_due_schedule_once(
    tmp_path: Path, postgres_url: str, llm: FakeAnthropic, telegram: FakeTelegram
) -> None:
    settings = system_settings(tmp_path, f"sqlite:///{tmp_path / 'app.db'}", llm, telegram)
    settings = settings.model_copy(update={"api_rate_limit_per_minute": 0})  # these tests poll
    async with agent_system(settings, llm, telegram, engine_database_url=postgres_url) as system:
        port = free_port()
        config = EngineConfig(database_url=postgres_url, port=port, fast_retries=True, cron=False, request_timeout=60)
        second = await serve_app(create_engine_app(config), port)
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as engine2:
                schedule = await _schedule(
                    system, skillName="copywriting", message="Hero.", cron="0 0 1 1 *", timezone="UTC"
                )
                await _make_due(system, schedule["id"], minutes_ago=3)
                await asyncio.gather(_tick(system.engine), _tick(engine2))
                await _wait_ended(system, "schedule-tick", 2)
                [fire] = await _wait_fires(system, schedule["id"], 1)
                assert (await system.wait_run(fire["runId"]))["status"] == "completed"
                await _wait_ended(system, "schedule-fire", 1)
                # Both ticks may send the fire event: the engine drops the second only when the two sends do
                # not race (its id check is not atomic across engines). The fire's row in the app database is
                # the guarantee: however many schedule-fire runs there are, one run starts.
                fire_runs = await system.engine_runs("schedule-fire", ended=False)
                await _wait_ended(system, "schedule-fire", len(fire_runs))
                assert len(await _wait_fires(system, schedule["id"], 1)) == 1
                assert (await system.api.get("/runs")).json()["data"]["total"] == 1
        finally:
            await stop_app(*second)
