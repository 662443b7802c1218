"""The four functions served by a real FastAPI app on uvicorn and driven by our engine.

The app database (SQLite and PostgreSQL), the object store and the notify registry are the real ones;
only the LLM call is scripted here (the e2e suite drives it through the fake Anthropic server).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from marketing_agent.errors import LLMFatalError, LLMOverloaded, LLMRateLimited, NotificationError
from marketing_agent.functions import FunctionDeps, SkillOutcome
from marketing_agent.functions.adapters import ChannelNotifications, DatabaseRunServices
from marketing_agent.notify import ChannelKind, MemoryNotifier, NotifierRegistry
from marketing_agent.services import (
    Database,
    InMemoryEventSender,
    User,
    add_channel,
    create_feedback,
    create_run,
    get_skill_run,
    list_alerts,
)
from marketing_agent.settings import Settings
from marketing_agent.storage import LocalObjectStore
from support.function_fakes import ScriptedExecutor
from support.function_stack import Stack, function_stack

OUTCOME = SkillOutcome(
    output="# Launch plan\n\nShip it.", title="Launch plan", tokens_in=300, tokens_out=90,
    cost_usd=0.0021, model="claude-test", warnings=("no CTA section",),
)  # fmt: skip


@dataclass
class World:
    stack: Stack
    db: Database
    user: User
    store: LocalObjectStore
    executor: ScriptedExecutor
    email: MemoryNotifier
    alerts: MemoryNotifier
    webhook: MemoryNotifier

    async def start_run(self, **options: Any) -> str:
        """Create the skill run as the API does, then hand its event to the engine."""
        events = InMemoryEventSender()
        run = await create_run(
            self.db,
            events,
            self.user.id,
            skill_name="copywriting",
            message="Plan the launch",
            options=options or None,
        )
        [event] = events.sent
        await self.stack.send(event.name, event.data)
        return str(run.id)


@pytest.fixture
async def world(db: Database, user: User, tmp_path: Path) -> AsyncIterator[World]:
    store = LocalObjectStore(tmp_path / "store")
    executor = ScriptedExecutor()
    email, alerts, webhook = MemoryNotifier(), MemoryNotifier(), MemoryNotifier()
    await add_channel(db, user.id, "email", "ada@example.com")
    base = Settings(public_api_url="http://api.test", alert_channels="log", _env_file=None)  # type: ignore[call-arg]

    def build(settings: Settings) -> FunctionDeps:
        registry = NotifierRegistry({ChannelKind.EMAIL: email, ChannelKind.LOG: alerts, ChannelKind.WEBHOOK: webhook})
        return FunctionDeps(
            settings=settings,
            services=DatabaseRunServices(db, settings),
            store=store,
            execute=executor,
            notifications=ChannelNotifications(settings, db, registry),
        )

    async with function_stack(tmp_path, build, base) as stack:
        yield World(stack, db, user, store, executor, email, alerts, webhook)


def step_names(run: dict[str, Any]) -> list[str]:
    return [step["name"] for step in run["steps"]]


def step_attempts(run: dict[str, Any], step: str) -> int:
    """How many times the engine ran ``step`` (the dashboard shows each attempt)."""
    [found] = [s for s in run["steps"] if s["name"] == step]
    return int(found["attempts"])


async def test_happy_path_completes_stores_output_and_notifies(world: World) -> None:
    world.executor.script = [OUTCOME]
    run_id = await world.start_run()

    [fn_run] = await world.stack.wait_for_runs("skill-execute")
    assert fn_run["status"] == "COMPLETED", fn_run
    assert step_names(fn_run)[:7] == [
        "update-status-running", "get-client-slug", "execute-skill", "save-output",
        "create-output-record", "update-status-completed", "send-completion-event",
    ]  # fmt: skip
    run = await get_skill_run(world.db, uuid.UUID(run_id))
    assert run.status.value == "completed"
    assert (run.tokens_input, run.tokens_output, run.cost_usd, run.model) == (300, 90, 0.0021, "claude-test")
    assert run.warnings == ["no CTA section"]
    assert run.engine_run_id == fn_run["id"]
    assert run.output is not None
    assert await world.store.get(run.output.storage_key) == OUTCOME.output.encode()
    assert run.output.storage_key.endswith(f"-{run_id}.md")

    [notify] = await world.stack.wait_for_runs("notify-completion")
    assert notify["status"] == "COMPLETED"
    assert notify["events"][0]["name"] == "skill.execute.completed"
    assert notify["events"][0]["data"] == {
        "runId": run_id, "outputId": str(run.output.id), "s3Key": run.output.storage_key,
    }  # fmt: skip
    [(message, address)] = world.email.sent
    assert address.address == "ada@example.com"
    assert message.title == "Launch plan"
    assert message.link is not None
    assert message.link.startswith(f"http://api.test/api/v1/outputs/{run.output.id}/content?expires=")


async def test_two_rate_limits_then_success_completes_after_retries(world: World) -> None:
    world.executor.script = [
        LLMRateLimited("429 slow down", status=429),
        LLMRateLimited("429", status=429),
        OUTCOME,
    ]
    run_id = await world.start_run()
    [fn_run] = await world.stack.wait_for_runs("skill-execute")
    assert fn_run["status"] == "COMPLETED"
    assert len(world.executor.calls) == 3
    assert step_attempts(fn_run, "execute-skill") == 3  # every attempt is visible
    errors = [a["error"]["name"] for a in fn_run["attempts"] if a["outcome"] == "error"]
    assert errors == ["LLMRateLimited", "LLMRateLimited"]
    run = await get_skill_run(world.db, uuid.UUID(run_id))
    assert run.status.value == "completed"


async def test_bad_request_fails_at_once_with_failed_event(world: World) -> None:
    world.executor.script = [LLMFatalError("400 invalid request", status=400)]
    run_id = await world.start_run()
    [fn_run] = await world.stack.wait_for_runs("skill-execute")
    assert len(world.executor.calls) == 1
    assert "send-failure-event" in step_names(fn_run)
    run = await get_skill_run(world.db, uuid.UUID(run_id))
    assert (run.status.value, run.error_message) == ("failed", "400 invalid request")

    [notify] = await world.stack.wait_for_runs("notify-completion")
    assert notify["events"][0]["name"] == "skill.execute.failed"
    assert notify["events"][0]["data"] == {
        "runId": run_id,
        "error": "400 invalid request",
        "retryable": False,
    }
    [(message, _)] = world.email.sent
    assert message.body == "400 invalid request"
    assert await world.stack.runs("skill-execute-failure") == []  # no on_failure for a handled failure


async def test_overloaded_forever_exhausts_retries_then_on_failure_records_it(world: World) -> None:
    world.executor.script = [LLMOverloaded("529 overloaded", status=529)]
    run_id = await world.start_run()
    [fn_run] = await world.stack.wait_for_runs("skill-execute", timeout=60)
    assert fn_run["status"] == "FAILED"
    assert len(world.executor.calls) == 4  # retries=3
    [handler] = await world.stack.wait_for_runs("skill-execute-failure", timeout=30)
    assert handler["status"] == "COMPLETED"
    run = await get_skill_run(world.db, uuid.UUID(run_id))
    assert run.status.value == "failed"
    assert run.error_message is not None
    assert "529 overloaded" in run.error_message
    [notify] = await world.stack.wait_for_runs("notify-completion")
    assert notify["events"][0]["name"] == "skill.execute.failed"
    assert notify["events"][0]["data"]["retryable"] is False


async def test_low_feedback_raises_exactly_one_alert(world: World) -> None:
    world.executor.script = [OUTCOME]
    run_id = await world.start_run()
    await world.stack.wait_for_runs("skill-execute")
    run = await get_skill_run(world.db, uuid.UUID(run_id))
    assert run.output is not None
    events = InMemoryEventSender()
    for score in (2, 1):
        await create_feedback(world.db, events, world.user.id, output_id=run.output.id, overall_score=score)
    for event in events.sent:
        await world.stack.send(event.name, event.data)
    await world.stack.wait_for_runs("feedback-process", count=2)
    [(message, _)] = world.alerts.sent
    assert "copywriting" in message.title
    [stored] = await list_alerts(world.db)
    assert stored.delivered_channels == ["log"]


async def test_a_stuck_run_raises_one_alert_however_often_the_monitor_runs(world: World, db: Database) -> None:
    services = DatabaseRunServices(db, Settings(_env_file=None))  # type: ignore[call-arg]
    events = InMemoryEventSender()
    run = await create_run(db, events, world.user.id, skill_name="copywriting", message="never finishes")
    await services.mark_run_running(str(run.id), "gone")
    # The stuck threshold is a setting (minimum 10 s); back-date instead of waiting.
    await _backdate_start(db, run.id, seconds=3600)
    for _ in range(2):
        reply = await world.stack.http.post(
            f"{world.stack.engine_url}/v1/functions/marketing-agent-monitor-executions/invoke",
            json={"data": {}},
        )
        reply.raise_for_status()
    runs = await world.stack.wait_for_runs("monitor-executions", count=2)
    assert all(r["status"] == "COMPLETED" for r in runs)
    [(message, _)] = world.alerts.sent
    assert str(run.id) in message.title
    assert f"http://api.test/api/v1/runs/{run.id}" in message.body


async def _backdate_start(db: Database, run_id: uuid.UUID, *, seconds: int) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from marketing_agent.db.models import SkillRunRow
    from marketing_agent.db.types import utcnow

    async with db.transaction() as session:
        await session.execute(
            update(SkillRunRow).where(SkillRunRow.id == run_id).values(started_at=utcnow() - timedelta(seconds=seconds))
        )


async def test_a_channel_failing_for_good_does_not_stop_the_others(world: World) -> None:
    await add_channel(world.db, world.user.id, "webhook", "https://hooks.example.com/x", secret="k")
    world.email.failures = [NotificationError("smtp down") for _ in range(4)]  # every attempt (retries=3)
    world.executor.script = [OUTCOME]
    await world.start_run()
    [notify] = await world.stack.wait_for_runs("notify-completion")
    assert notify["status"] == "COMPLETED"
    result = json.loads(notify["output"]) if isinstance(notify["output"], str) else notify["output"]
    assert result["failed"] == {"email:ada@example.com": "smtp down"}
    assert result["sent"] == ["webhook:hooks.example.com"]
    assert world.email.sent == []
    [(_, address)] = world.webhook.sent
    assert address.secret == "k"


async def test_retry_after_from_the_provider_is_honoured(world: World) -> None:
    world.executor.script = [LLMRateLimited("429 wait", status=429, retry_after_seconds=1), OUTCOME]
    run_id = await world.start_run()
    [fn_run] = await world.stack.wait_for_runs("skill-execute")
    assert fn_run["status"] == "COMPLETED"
    assert len(world.executor.calls) == 2
    errors = [a for a in fn_run["attempts"] if a["outcome"] == "error"]
    assert len(errors) == 1
    retried = [a for a in fn_run["attempts"] if a["started_at"] > errors[0]["ended_at"]]
    # The next attempt waited at least the second the provider asked for (the fast schedule is 0.1 s).
    assert min(a["started_at"] for a in retried) - errors[0]["ended_at"] >= 900
    run = await get_skill_run(world.db, uuid.UUID(run_id))
    assert run.status.value == "completed"


async def test_output_type_names_the_output_title_and_key(world: World) -> None:
    world.executor.script = [OUTCOME]
    run_id = await world.start_run(outputType="homepage", telegramChatId=1, telegramMessageId=2)
    [fn_run] = await world.stack.wait_for_runs("skill-execute")
    assert fn_run["status"] == "COMPLETED", fn_run
    run = await get_skill_run(world.db, uuid.UUID(run_id))
    assert run.status.value == "completed"
    assert run.output is not None
    assert run.output.title == "homepage: Launch plan"
    assert run.output.storage_key.endswith(f"-homepage-{run_id}.md")
    assert world.executor.calls[0][3] == {"outputType": "homepage", "telegramChatId": 1, "telegramMessageId": 2}
