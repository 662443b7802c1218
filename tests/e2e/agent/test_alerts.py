"""Alerts end to end: low feedback and a stuck run each reach ALERT_CHANNELS (a Telegram chat) once."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import update

from marketing_agent.db.models import SkillRunRow
from marketing_agent.db.types import utcnow
from marketing_agent.services import InMemoryEventSender, create_run, get_skill_run, mark_run_running
from support.agent_system import ALERT_CHAT, AgentSystem


def _alerts(system: AgentSystem) -> list[str]:
    return [
        str(call.params["text"])
        for call in system.telegram.calls_to("sendMessage")
        if int(call.params["chat_id"]) == ALERT_CHAT
    ]


async def test_feedback_below_three_raises_exactly_one_alert(system: AgentSystem) -> None:
    run = await system.wait_run(await system.start_run())
    output_id = run["output"]["id"]
    for score in (2, 1):
        reply = await system.api.post("/feedback", json={"outputId": output_id, "overallScore": score})
        assert reply.status_code == 201, reply.text
    runs = await system.wait_engine_runs("feedback-process", count=2)
    assert {r["status"] for r in runs} == {"COMPLETED"}
    [alert] = _alerts(system)
    assert "copywriting" in alert
    metrics = (await system.api.get("/skills/copywriting/metrics")).json()["data"]
    assert metrics["feedbackCount"] == 1  # one rating per user per output: the second replaced the first
    assert metrics["health"] == "low"


async def test_a_stuck_run_raises_one_alert_with_its_link(system: AgentSystem) -> None:
    finished = await system.wait_run(await system.start_run())
    owner = (await get_skill_run(system.database, uuid.UUID(finished["id"]))).user_id
    stuck = await create_run(system.database, InMemoryEventSender(), owner, skill_name="copywriting", message="hang")
    await mark_run_running(system.database, stuck.id)
    async with system.database.transaction() as session:  # running for an hour, without waiting an hour
        await session.execute(
            update(SkillRunRow).where(SkillRunRow.id == stuck.id).values(started_at=utcnow() - timedelta(hours=1))
        )

    for _ in range(2):  # two cron ticks
        reply = await system.engine.post("/v1/functions/marketing-agent-monitor-executions/invoke", json={"data": {}})
        reply.raise_for_status()
    ticks = await system.wait_engine_runs("monitor-executions", count=2)
    assert {t["status"] for t in ticks} == {"COMPLETED"}
    [alert] = _alerts(system)
    assert str(stuck.id) in alert
    assert f"{system.settings.api_url}/api/v1/runs/{stuck.id}" in alert
