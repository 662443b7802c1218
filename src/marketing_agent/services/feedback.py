"""Feedback on outputs, and folding it into per-skill metrics and health (the feedback-process function)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update

from marketing_agent.db.enums import AlertKind, FeedbackSource, SkillHealth
from marketing_agent.db.models import FeedbackRow, OutputRow, SkillMetricsRow, SkillRunRow
from marketing_agent.db.session import Database
from marketing_agent.db.types import utcnow
from marketing_agent.errors import MarketingAgentError, NotFound, OutputNotFound, ValidationFailed
from marketing_agent.services._common import as_uuid, check_page, count
from marketing_agent.services._metrics import add_to_metrics, ensure_metrics_row
from marketing_agent.services.alerts import insert_alert_once
from marketing_agent.services.events import FEEDBACK_PROCESS, EventSender
from marketing_agent.services.records import (
    Alert,
    Feedback,
    FeedbackIssue,
    FeedbackOutcome,
    Page,
    SkillMetrics,
)

logger = logging.getLogger(__name__)

HEALTH_WINDOW = 10  # the health check averages this many most recent feedbacks of the skill
HEALTH_THRESHOLD = 3.0
_SEVERITIES = {"high", "medium", "low"}


def _check_score(name: str, value: int | None, *, required: bool = False) -> None:
    if value is None:
        if required:
            raise ValidationFailed(f"{name} is required", details=[{"field": name}])
        return
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise ValidationFailed(f"{name} must be an integer from 1 to 5", details=[{"field": name}])


async def create_feedback(
    db: Database,
    events: EventSender,
    user_id: uuid.UUID,
    *,
    output_id: uuid.UUID,
    overall_score: int,
    accuracy_score: int | None = None,
    quality_score: int | None = None,
    usefulness_score: int | None = None,
    rule_compliance_score: int | None = None,
    what_worked_well: str | None = None,
    issues: Sequence[FeedbackIssue] = (),
    comment: str | None = None,
    source: str = FeedbackSource.API.value,
) -> Feedback:
    """Store a user's rating of their output and ask the engine to fold it into the skill's metrics.

    The feedback is kept even if the event cannot be sent (logged); ``process_feedback`` can run later.
    """
    _check_score("overallScore", overall_score, required=True)
    for name, value in (
        ("accuracyScore", accuracy_score),
        ("qualityScore", quality_score),
        ("usefulnessScore", usefulness_score),
        ("ruleComplianceScore", rule_compliance_score),
    ):
        _check_score(name, value)
    try:
        source = FeedbackSource(source).value
    except ValueError as exc:
        raise ValidationFailed("source must be api, telegram or web", details=[{"field": "source"}]) from exc
    for issue in issues:
        if issue.severity not in _SEVERITIES:
            raise ValidationFailed("severity must be high, medium or low", details=[{"field": "issues"}])
    async with db.transaction() as session:
        found = (
            await session.execute(
                select(OutputRow.id, SkillRunRow.user_id, SkillRunRow.skill_name)
                .join(SkillRunRow, SkillRunRow.id == OutputRow.run_id)
                .where(OutputRow.id == output_id)
            )
        ).first()
        if found is None or found.user_id != user_id:
            raise OutputNotFound("output not found")
        earlier = (
            await session.scalars(
                select(FeedbackRow).where(FeedbackRow.output_id == output_id, FeedbackRow.user_id == user_id)
            )
        ).all()
        for old in earlier:
            # One rating per user per output: a second one replaces the first (a change of mind, not another
            # vote); the new one gets its own id, so it is processed — and may raise an alert — like any new
            # rating. Delete the old one only if nobody counted it yet; the statement waits for a concurrent
            # process_feedback's transaction, so "counted" is decided by the database, not by what we read.
            session.expunge(old)
            gone = await session.execute(
                delete(FeedbackRow).where(FeedbackRow.id == old.id, FeedbackRow.processed_at.is_(None))
            )
            if not gone.rowcount:  # type: ignore[attr-defined]
                await add_to_metrics(session, old.skill_name, **_uncount(old))  # counted: take it back out
                await session.execute(delete(FeedbackRow).where(FeedbackRow.id == old.id))
        row = FeedbackRow(
            id=uuid.uuid4(),
            output_id=output_id,
            user_id=user_id,
            skill_name=found.skill_name,
            overall_score=overall_score,
            accuracy_score=accuracy_score,
            quality_score=quality_score,
            usefulness_score=usefulness_score,
            rule_compliance_score=rule_compliance_score,
            what_worked_well=what_worked_well,
            issues=[
                {"description": i.description, "severity": i.severity, "suggestedFix": i.suggested_fix} for i in issues
            ],
            comment=comment,
            source=source,
        )
        session.add(row)
    await _send_process(events, row)
    return Feedback.of(row)


def _uncount(row: FeedbackRow) -> dict[str, int]:
    """Metric increments that take a counted rating back out (what process_feedback added, negated)."""
    out = {"feedback_count": -1, "overall_sum": -row.overall_score}
    for name in ("accuracy", "quality", "usefulness", "rule_compliance"):
        value = getattr(row, f"{name}_score")
        if value is not None:
            out[f"{name}_sum"] = -value
            out[f"{name}_count"] = -1
    return out


async def _send_process(events: EventSender, row: FeedbackRow) -> None:
    try:
        await events.send(
            FEEDBACK_PROCESS, {"feedbackId": str(row.id), "skillName": row.skill_name}, id=f"feedback-process-{row.id}"
        )
    except MarketingAgentError as exc:
        logger.warning("feedback.process not sent", extra={"feedback_id": str(row.id), "error": exc.message})


async def list_feedback(
    db: Database,
    user_id: uuid.UUID,
    *,
    skill_name: str | None = None,
    min_score: int | None = None,
    max_score: int | None = None,
    output_id: uuid.UUID | None = None,
    limit: int = 20,
    offset: int = 0,
) -> Page[Feedback]:
    check_page(limit, offset)
    query = select(FeedbackRow).where(FeedbackRow.user_id == user_id)
    if skill_name is not None:
        query = query.where(FeedbackRow.skill_name == skill_name)
    if min_score is not None:
        query = query.where(FeedbackRow.overall_score >= min_score)
    if max_score is not None:
        query = query.where(FeedbackRow.overall_score <= max_score)
    if output_id is not None:
        query = query.where(FeedbackRow.output_id == output_id)
    async with db.transaction() as session:
        total = await count(session, query)
        rows = (
            await session.scalars(
                query.order_by(FeedbackRow.created_at.desc(), FeedbackRow.id).limit(limit).offset(offset)
            )
        ).all()
    return Page([Feedback.of(r) for r in rows], total, limit, offset)


def _per_user_average(ratings: Sequence[tuple[uuid.UUID, int]]) -> float | None:
    """The mean of each user's mean: one user rating many outputs weighs as much as one who rated one, so
    no single account can sink (or prop up) a skill's health. With one user it is the plain mean."""
    by_user: dict[uuid.UUID, list[int]] = {}
    for user, score in ratings:
        by_user.setdefault(user, []).append(score)
    if not by_user:
        return None  # no feedback, no division
    return sum(sum(scores) / len(scores) for scores in by_user.values()) / len(by_user)


async def process_feedback(
    db: Database, feedback_id: uuid.UUID | str, *, now: datetime | None = None, recorded_by: str | None = None
) -> FeedbackOutcome:
    """Fold one feedback into its skill's metrics and check the skill's health, in one transaction.

    Safe to retry: the feedback is counted once (``processed_at``), and the low-health alert is recorded at
    most once per skill per day (``alert_created`` is True only for the call that recorded it).
    """
    key = as_uuid(feedback_id, "feedbackId")
    now = now or utcnow()
    async with db.transaction() as session:
        fb = await session.get(FeedbackRow, key)
        if fb is None:
            raise NotFound("feedback not found")
        skill = fb.skill_name
        await ensure_metrics_row(session, skill)
        claimed = await session.execute(
            update(FeedbackRow)
            .where(FeedbackRow.id == key, FeedbackRow.processed_at.is_(None))
            .values(processed_at=now)
        )
        first_time = bool(claimed.rowcount)  # type: ignore[attr-defined]
        if first_time:
            scores = {
                "accuracy": fb.accuracy_score,
                "quality": fb.quality_score,
                "usefulness": fb.usefulness_score,
                "rule_compliance": fb.rule_compliance_score,
            }
            increments: dict[str, int] = {"feedback_count": 1, "overall_sum": fb.overall_score}
            for name, value in scores.items():
                if value is not None:
                    increments[f"{name}_sum"] = value
                    increments[f"{name}_count"] = 1
            await add_to_metrics(session, skill, **increments)

        recent = (
            await session.execute(
                select(FeedbackRow.user_id, FeedbackRow.overall_score)
                .where(FeedbackRow.skill_name == skill)
                .order_by(FeedbackRow.created_at.desc(), FeedbackRow.id.desc())
                .limit(HEALTH_WINDOW)
            )
        ).all()
        average = _per_user_average([(row.user_id, row.overall_score) for row in recent])
        health = SkillHealth.LOW if average is not None and average < HEALTH_THRESHOLD else SkillHealth.OK

        metrics = await session.get(SkillMetricsRow, skill, populate_existing=True)
        assert metrics is not None  # ensured above
        metrics.recent_average = average
        metrics.health = health.value
        if metrics.last_feedback_at is None or fb.created_at > metrics.last_feedback_at:
            metrics.last_feedback_at = fb.created_at
        await session.flush()

        alert: Alert | None = None
        created = False
        if health is SkillHealth.LOW and average is not None:
            day = now.date().isoformat()
            row, created = await insert_alert_once(
                session,
                kind=AlertKind.SKILL_HEALTH.value,
                key=f"{AlertKind.SKILL_HEALTH.value}:{skill}:{day}",
                message=(
                    f"skill {skill} averages {average:.2f}/5 over its last {len(recent)} feedbacks "
                    f"(below {HEALTH_THRESHOLD:.0f})"
                ),
                # feedbackId and recordedBy (the function run): the cause, so a retried step (committed, then
                # crashed before its result was stored) knows the alert is its own to deliver — and a later
                # processing of the same feedback (its rating was changed) knows it is not.
                details={
                    "skillName": skill,
                    "average": average,
                    "window": len(recent),
                    "day": day,
                    "feedbackId": str(key),
                    **({"recordedBy": recorded_by} if recorded_by else {}),
                },
            )
            await session.flush()
            alert = Alert.of(row)
        return FeedbackOutcome(
            feedback_id=key,
            skill_name=skill,
            already_processed=not first_time,
            metrics=SkillMetrics.of(metrics),
            recent_average=average,
            alert=alert,
            alert_created=created,
        )
