"""The use cases the durable functions call: each one idempotent."""

from __future__ import annotations

from datetime import timedelta

import pytest

from marketing_agent.db.types import utcnow
from marketing_agent.errors import RunNotFound
from marketing_agent.services import (
    Database,
    InMemoryEventSender,
    SkillRunStatus,
    User,
    alert_stuck_runs,
    create_run,
    get_skill_metrics,
    get_skill_run,
    mark_run_completed,
    mark_run_failed,
    mark_run_running,
    record_output,
    run_claimed_by,
)


async def test_happy_path_is_idempotent(db: Database, user: User, events: InMemoryEventSender) -> None:
    run = await create_run(db, events, user.id, skill_name="copywriting", message="a")
    first = await mark_run_running(db, str(run.id), engine_run_id="fr-1")
    again = await mark_run_running(db, run.id, engine_run_id="fr-2")
    assert first.status is SkillRunStatus.RUNNING
    assert again.started_at == first.started_at
    assert again.engine_run_id == "fr-1"
    assert run_claimed_by(first, "fr-1")
    assert not run_claimed_by(again, "fr-2")  # a duplicate function run does not get the run

    content = "é" * 600
    output = await record_output(db, run.id, storage_key="outputs/copywriting/_none/k.md", title="T", content=content)
    same = await record_output(db, run.id, storage_key="outputs/other.md", title="T2", content="x")
    assert same.id == output.id
    assert same.storage_key == "outputs/copywriting/_none/k.md"
    assert len(output.preview) == 500
    assert output.size_bytes == 1200

    done = await mark_run_completed(
        db, run.id, tokens_input=100, tokens_output=50, cost_usd=0.01, model="m", warnings=["w"]
    )
    await mark_run_completed(db, run.id, tokens_input=100, tokens_output=50, cost_usd=0.01)
    await mark_run_failed(db, run.id, "late failure must not override")
    final = await get_skill_run(db, run.id)
    assert final.status is SkillRunStatus.COMPLETED
    assert final.warnings == ["w"]
    assert final.model == "m"
    assert final.output is not None
    assert final.output.id == output.id
    assert done.completed_at is not None
    metrics = await get_skill_metrics(db, "copywriting")
    assert metrics.runs_completed == 1
    assert metrics.runs_failed == 0
    assert metrics.average_tokens_input == 100
    assert metrics.average_cost_usd == pytest.approx(0.01)


async def test_failure_counts_once(db: Database, user: User, events: InMemoryEventSender) -> None:
    run = await create_run(db, events, user.id, skill_name="seo-audit", message="a")
    await mark_run_failed(db, run.id, "LLM said 400")
    await mark_run_failed(db, run.id, "again")
    failed = await get_skill_run(db, run.id)
    assert failed.status is SkillRunStatus.FAILED
    assert failed.error_message == "LLM said 400"
    assert (await get_skill_metrics(db, "seo-audit")).runs_failed == 1
    with pytest.raises(RunNotFound):
        await mark_run_running(db, "00000000-0000-0000-0000-000000000000")


async def test_stuck_runs_alert_once_each(db: Database, user: User, events: InMemoryEventSender) -> None:
    run = await create_run(db, events, user.id, skill_name="copywriting", message="a")
    await mark_run_running(db, run.id)
    later = utcnow() + timedelta(minutes=10)
    assert (await alert_stuck_runs(db, timedelta(minutes=5))).stuck_runs == []
    report = await alert_stuck_runs(db, timedelta(minutes=5), now=later, api_url="http://api")
    assert [r.id for r in report.stuck_runs] == [run.id]
    [alert] = report.new_alerts
    assert alert.key == f"stuck-run:{run.id}"
    assert alert.details["link"] == f"http://api/api/v1/runs/{run.id}"
    second = await alert_stuck_runs(db, timedelta(minutes=5), now=later + timedelta(minutes=5))
    assert len(second.stuck_runs) == 1
    assert second.new_alerts == []
