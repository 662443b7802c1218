from __future__ import annotations

from datetime import timedelta

import pytest

from marketing_agent.db.types import utcnow
from marketing_agent.errors import OutputNotFound, SkillNotFound, ValidationFailed
from marketing_agent.services import (
    FEEDBACK_PROCESS,
    Database,
    FeedbackIssue,
    InMemoryEventSender,
    Output,
    SkillHealth,
    User,
    create_feedback,
    create_run,
    create_user,
    get_skill_metrics,
    list_feedback,
    mark_alert_delivered,
    mark_run_running,
    process_feedback,
    record_output,
)


async def _output(db: Database, events: InMemoryEventSender, user: User, skill: str) -> Output:
    run = await create_run(db, events, user.id, skill_name=skill, message="m")
    await mark_run_running(db, run.id)
    return await record_output(db, run.id, storage_key=f"outputs/{skill}/_none/{run.id}.md", title="t", content="c")


async def test_feedback_is_stored_and_announced(db: Database, user: User, events: InMemoryEventSender) -> None:
    output = await _output(db, events, user, "copywriting")
    fb = await create_feedback(
        db,
        events,
        user.id,
        output_id=output.id,
        overall_score=4,
        accuracy_score=5,
        issues=[FeedbackIssue("too long", "low", "cut it")],
    )
    assert fb.skill_name == "copywriting"
    assert fb.issues[0].suggested_fix == "cut it"
    assert events.named(FEEDBACK_PROCESS)[0].data == {"feedbackId": str(fb.id), "skillName": "copywriting"}
    other = (await create_user(db, "eve@example.com")).user
    with pytest.raises(OutputNotFound):
        await create_feedback(db, events, other.id, output_id=output.id, overall_score=3)
    with pytest.raises(ValidationFailed):
        await create_feedback(db, events, user.id, output_id=output.id, overall_score=6)
    assert (await list_feedback(db, user.id, min_score=4)).total == 1
    assert (await list_feedback(db, user.id, max_score=3)).total == 0


async def test_metrics_count_each_feedback_once(db: Database, user: User, events: InMemoryEventSender) -> None:
    output = await _output(db, events, user, "copywriting")
    fb = await create_feedback(db, events, user.id, output_id=output.id, overall_score=4, quality_score=2)
    first = await process_feedback(db, fb.id)
    again = await process_feedback(db, str(fb.id))
    assert not first.already_processed
    assert again.already_processed
    metrics = await get_skill_metrics(db, "copywriting")
    assert metrics.feedback_count == 1
    assert metrics.average_overall == 4
    assert metrics.average_quality == 2
    assert metrics.average_accuracy is None
    assert metrics.health is SkillHealth.OK
    assert metrics.last_feedback_at == fb.created_at
    empty = await get_skill_metrics(db, "seo-audit")
    assert empty.feedback_count == 0
    assert empty.average_overall is None
    with pytest.raises(SkillNotFound):
        await get_skill_metrics(db, "nope")


async def test_low_health_alerts_once_per_skill_per_day(db: Database, user: User, events: InMemoryEventSender) -> None:
    good = await _output(db, events, user, "seo-audit")
    for _ in range(3):  # another skill's good scores must not lift this one
        await process_feedback(db, (await create_feedback(db, events, user.id, output_id=good.id, overall_score=5)).id)
    bad = await _output(db, events, user, "copywriting")
    outcomes = [
        await process_feedback(
            db, (await create_feedback(db, events, user.id, output_id=bad.id, overall_score=score)).id
        )
        for score in (2, 1)
    ]
    assert outcomes[0].alert_created
    assert outcomes[0].recent_average == 2
    assert outcomes[1].alert is not None
    assert not outcomes[1].alert_created
    assert outcomes[1].alert.key == f"skill-health:copywriting:{utcnow().date().isoformat()}"
    assert (await get_skill_metrics(db, "copywriting")).health is SkillHealth.LOW
    assert (await get_skill_metrics(db, "seo-audit")).health is SkillHealth.OK
    tomorrow = await process_feedback(
        db,
        (await create_feedback(db, events, user.id, output_id=bad.id, overall_score=1)).id,
        now=utcnow() + timedelta(days=1),
    )
    assert tomorrow.alert_created
    delivered = await mark_alert_delivered(db, tomorrow.alert.id, "slack")  # type: ignore[union-attr]
    assert delivered.delivered_channels == ["slack"]


async def test_one_rating_per_user_per_output(db: Database, user: User, events: InMemoryEventSender) -> None:
    """The attack: rating one's own output 1/5 over and over to sink a skill (and trigger its alert)."""
    output = await _output(db, events, user, "copywriting")
    first = await create_feedback(db, events, user.id, output_id=output.id, overall_score=5, quality_score=4)
    await process_feedback(db, first.id)
    for _ in range(5):
        again = await create_feedback(db, events, user.id, output_id=output.id, overall_score=1)
        await process_feedback(db, again.id)  # the new rating replaces the one before
    assert (await list_feedback(db, user.id)).total == 1
    metrics = await get_skill_metrics(db, "copywriting")
    assert metrics.feedback_count == 1
    assert metrics.average_overall == 1  # the replaced ratings were taken out of the sums
    assert metrics.average_quality is None  # the later rating has no quality score


async def test_health_weighs_each_user_once(db: Database, user: User, events: InMemoryEventSender) -> None:
    """One account rating many of its outputs low cannot outvote everyone else."""
    others = [(await create_user(db, f"u{i}@example.com")).user for i in range(3)]
    for rater in others:
        good = await _output(db, events, rater, "copywriting")
        await process_feedback(db, (await create_feedback(db, events, rater.id, output_id=good.id, overall_score=5)).id)
    outcome = None
    for _ in range(7):  # seven of the last ten ratings are one user's 1/5
        bad = await _output(db, events, user, "copywriting")
        fb = await create_feedback(db, events, user.id, output_id=bad.id, overall_score=1)
        outcome = await process_feedback(db, fb.id)
    assert outcome is not None
    assert outcome.recent_average == (5 + 5 + 5 + 1) / 4  # not (3 * 5 + 7 * 1) / 10 = 2.2
    assert not outcome.alert_created
    assert (await get_skill_metrics(db, "copywriting")).health is SkillHealth.OK
