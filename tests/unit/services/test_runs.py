from __future__ import annotations

import pytest

from marketing_agent.errors import (
    ClientNotFound,
    Conflict,
    RunNotFound,
    ServiceUnavailable,
    SkillNotFound,
    ValidationFailed,
)
from marketing_agent.services import (
    SKILL_EXECUTE,
    Database,
    InMemoryEventSender,
    InMemoryRunCanceller,
    SkillRunStatus,
    User,
    cancel_run,
    create_client,
    create_run,
    create_user,
    get_run,
    get_skill_run,
    list_runs,
    mark_run_running,
)


async def test_create_run_commits_then_sends_the_seed_shaped_event(
    db: Database, user: User, events: InMemoryEventSender
) -> None:
    client = await create_client(db, user.id, name="Acme", slug="acme")
    run = await create_run(
        db,
        events,
        user.id,
        skill_name="copywriting",
        message="Homepage",
        client_id=client.id,
        options={"outputType": "homepage", "maxTokens": 100},
    )
    assert run.status is SkillRunStatus.QUEUED
    assert run.engine_event_id == f"skill-execute-{run.id}"
    [event] = events.sent
    assert event.name == SKILL_EXECUTE
    assert event.data == {
        "runId": str(run.id),
        "skillName": "copywriting",
        "userMessage": "Homepage",
        "userId": str(user.id),
        "clientId": str(client.id),
        "options": {"outputType": "homepage", "maxTokens": 100},
    }


async def test_create_run_refuses_bad_input(db: Database, user: User, events: InMemoryEventSender) -> None:
    other = (await create_user(db, "eve@example.com")).user
    foreign = await create_client(db, other.id, name="Theirs", slug="theirs")
    with pytest.raises(SkillNotFound):
        await create_run(db, events, user.id, skill_name="nope", message="x")
    with pytest.raises(ClientNotFound):
        await create_run(db, events, user.id, skill_name="copywriting", message="x", client_id=foreign.id)
    with pytest.raises(ValidationFailed):
        await create_run(db, events, user.id, skill_name="copywriting", message="x" * 10_001)
    # Options are checked before the run exists, naming the field (a run never fails later for them).
    with pytest.raises(ValidationFailed) as bad_options:
        await create_run(db, events, user.id, skill_name="copywriting", message="x", options={"x": 1})
    assert [d["field"] for d in bad_options.value.details] == ["options.x"]
    with pytest.raises(ValidationFailed) as bad_type:
        await create_run(db, events, user.id, skill_name="copywriting", message="x", options={"outputType": "A B"})
    assert [d["field"] for d in bad_type.value.details] == ["options.outputType"]
    assert events.sent == []
    assert (await list_runs(db, user.id)).total == 0


async def test_unsent_event_marks_the_run_failed(db: Database, user: User) -> None:
    events = InMemoryEventSender(fail_with="engine down")
    with pytest.raises(ServiceUnavailable):
        await create_run(db, events, user.id, skill_name="copywriting", message="x")
    [run] = (await list_runs(db, user.id)).items
    assert run.status is SkillRunStatus.FAILED
    assert run.error_message is not None
    assert "engine down" in run.error_message


async def test_runs_are_private_and_filterable(db: Database, user: User, events: InMemoryEventSender) -> None:
    a = await create_run(db, events, user.id, skill_name="copywriting", message="a")
    await create_run(db, events, user.id, skill_name="seo-audit", message="b")
    other = (await create_user(db, "eve@example.com")).user
    with pytest.raises(RunNotFound):
        await get_run(db, other.id, a.id)
    assert (await list_runs(db, user.id, skill_name="seo-audit")).total == 1
    assert (await list_runs(db, user.id, status="queued")).total == 2
    assert (await list_runs(db, user.id, limit=1, offset=1)).items[0].skill_name == "copywriting"
    assert (await list_runs(db, other.id)).total == 0


async def test_cancel_goes_through_the_engine_when_its_run_id_is_known(
    db: Database, user: User, events: InMemoryEventSender
) -> None:
    canceller = InMemoryRunCanceller()
    queued = await create_run(db, events, user.id, skill_name="copywriting", message="a")
    assert (await cancel_run(db, canceller, user.id, queued.id)).status is SkillRunStatus.CANCELLED
    assert canceller.cancelled == []
    with pytest.raises(Conflict):
        await cancel_run(db, canceller, user.id, queued.id)

    running = await create_run(db, events, user.id, skill_name="copywriting", message="b")
    await mark_run_running(db, running.id, engine_run_id="01FUNCRUN")
    await cancel_run(db, canceller, user.id, running.id)
    assert canceller.cancelled == ["01FUNCRUN"]
    # The function's next step sees the cancellation and must not revive the run.
    assert (await mark_run_running(db, running.id)).status is SkillRunStatus.CANCELLED
    assert (await get_skill_run(db, running.id)).status is SkillRunStatus.CANCELLED
