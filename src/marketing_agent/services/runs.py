"""Skill runs as users see them: create (row, then the ``skill.execute`` event), read, list, cancel."""

from __future__ import annotations

import logging
import math
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select, update

from marketing_agent.agent.run_options import StoredRunOptions
from marketing_agent.db.enums import SkillRunStatus
from marketing_agent.db.models import ClientRow, OutputRow, SkillRow, SkillRunRow
from marketing_agent.db.session import Database
from marketing_agent.db.types import utcnow
from marketing_agent.errors import (
    ClientNotFound,
    Conflict,
    MarketingAgentError,
    RateLimited,
    RunNotFound,
    ServiceUnavailable,
    SkillNotFound,
    ValidationFailed,
)
from marketing_agent.services._common import check_page, count
from marketing_agent.services.engine_client import RunCanceller
from marketing_agent.services.events import SKILL_EXECUTE, EventSender
from marketing_agent.services.records import Page, SkillRun

logger = logging.getLogger(__name__)

MESSAGE_MAX = 10_000
THROTTLE_PER_MINUTE = 10  # skill-execute's throttle: used only for the wait estimate
_ACTIVE = (SkillRunStatus.QUEUED.value, SkillRunStatus.RUNNING.value)


DAY = timedelta(days=1)


async def check_daily_runs(db: Database, user_id: uuid.UUID, limit: int) -> None:
    """Refuse (:class:`RateLimited`, ``retryAfter`` seconds) a user's run past ``limit`` in 24 hours (0: none)."""
    if limit <= 0:
        return
    since = utcnow() - DAY
    async with db.transaction() as session:
        recent = select(SkillRunRow.queued_at).where(SkillRunRow.user_id == user_id, SkillRunRow.queued_at > since)
        started = await session.scalar(select(func.count()).select_from(recent.subquery()))
        if (started or 0) < limit:
            return
        oldest = await session.scalar(recent.order_by(SkillRunRow.queued_at).limit(1))
    free_at = (_aware(oldest) if oldest is not None else utcnow()) + DAY
    retry_after = max(1, math.ceil((free_at - utcnow()).total_seconds()))
    raise RateLimited(f"at most {limit} runs per 24 hours (RUNS_PER_DAY)", details={"retryAfter": retry_after})


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)  # SQLite drops the zone


async def create_run(
    db: Database,
    events: EventSender,
    user_id: uuid.UUID,
    *,
    skill_name: str,
    message: str,
    client_id: uuid.UUID | None = None,
    options: dict[str, Any] | None = None,
    run_id: uuid.UUID | None = None,
) -> SkillRun:
    """Commit a queued run, then hand it to the engine. The caller gets the run only once both happened;
    when the event is refused the run is marked failed with the reason and ServiceUnavailable is raised,
    so there is never a queued run that nothing will execute.

    ``run_id`` (a schedule's fire derives it) makes the call repeatable: a run already handed to the engine
    is returned as it is; one recorded but not confirmed is sent again with the same event id."""
    if not message.strip() or len(message) > MESSAGE_MAX:
        raise ValidationFailed("message must be 1-10,000 characters", details=[{"field": "message"}])
    if options is not None:
        options = parse_run_options(options).to_wire()
    if run_id is not None:
        async with db.transaction() as session:
            existing = await session.get(SkillRunRow, run_id)
        if existing is not None and existing.engine_event_id is not None:
            return await get_skill_run(db, run_id)
    run_id = run_id or uuid.uuid4()
    async with db.transaction() as session:
        if await session.get(SkillRunRow, run_id) is None:
            await _record_run(session, run_id, user_id, skill_name, message, client_id, options)
    return await _send_run(db, events, run_id, user_id, skill_name, message, client_id, options)


async def _record_run(
    session: Any,
    run_id: uuid.UUID,
    user_id: uuid.UUID,
    skill_name: str,
    message: str,
    client_id: uuid.UUID | None,
    options: dict[str, Any] | None,
) -> None:
    skill = await session.scalar(select(SkillRow).where(SkillRow.name == skill_name))
    if skill is None or not skill.enabled:
        raise SkillNotFound(f"skill {skill_name!r} not found")
    if client_id is not None:
        client = await session.get(ClientRow, client_id)
        if client is None or client.user_id != user_id:
            raise ClientNotFound("client not found")
    session.add(
        SkillRunRow(
            id=run_id,
            user_id=user_id,
            skill_name=skill_name,
            client_id=client_id,
            status=SkillRunStatus.QUEUED.value,
            message=message,
            options=options,
            queued_at=utcnow(),
        )
    )


async def _send_run(
    db: Database,
    events: EventSender,
    run_id: uuid.UUID,
    user_id: uuid.UUID,
    skill_name: str,
    message: str,
    client_id: uuid.UUID | None,
    options: dict[str, Any] | None,
) -> SkillRun:
    data: dict[str, Any] = {
        "runId": str(run_id),
        "skillName": skill_name,
        "userMessage": message,
        "userId": str(user_id),
    }
    if client_id is not None:
        data["clientId"] = str(client_id)
    if options is not None:
        data["options"] = options
    try:
        # The run id doubles as the event id: a resend after a timeout is deduplicated by the event API.
        event_id = await events.send(SKILL_EXECUTE, data, id=f"skill-execute-{run_id}")
    except MarketingAgentError as exc:
        reason = f"could not queue the run: {exc.message}"
        await _fail_unsent(db, run_id, reason)
        raise ServiceUnavailable(reason) from exc
    async with db.transaction() as session:
        await session.execute(update(SkillRunRow).where(SkillRunRow.id == run_id).values(engine_event_id=event_id))
    return await get_skill_run(db, run_id)


def parse_run_options(options: dict[str, Any]) -> StoredRunOptions:
    """The run's options checked now, so a run is never failed later for options it was accepted with."""
    try:
        return StoredRunOptions.model_validate(options)
    except ValidationError as exc:
        problems = [
            {"field": ".".join(["options", *(str(p) for p in e["loc"])]), "message": e["msg"]} for e in exc.errors()
        ]
        names = ", ".join(p["field"] for p in problems)
        raise ValidationFailed(f"invalid run options: {names}", details=problems) from exc


async def _fail_unsent(db: Database, run_id: uuid.UUID, reason: str) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(SkillRunRow)
            .where(SkillRunRow.id == run_id, SkillRunRow.status == SkillRunStatus.QUEUED.value)
            .values(status=SkillRunStatus.FAILED.value, error_message=reason, completed_at=utcnow())
        )
    logger.warning("run failed before it was queued", extra={"run_id": str(run_id)})


async def get_skill_run(db: Database, run_id: uuid.UUID) -> SkillRun:
    """A run by id regardless of its owner (for the durable functions and the bot's own lookups)."""
    async with db.transaction() as session:
        row = await session.get(SkillRunRow, run_id)
        if row is None:
            raise RunNotFound("run not found")
        output = await session.scalar(select(OutputRow).where(OutputRow.run_id == run_id))
    return SkillRun.of(row, output)


async def get_run(db: Database, user_id: uuid.UUID, run_id: uuid.UUID) -> SkillRun:
    """A user's run; another user's run is reported exactly like a missing one."""
    run = await get_skill_run(db, run_id)
    if run.user_id != user_id:
        raise RunNotFound("run not found")
    return run


async def list_runs(
    db: Database,
    user_id: uuid.UUID,
    *,
    status: str | None = None,
    skill_name: str | None = None,
    client_id: uuid.UUID | None = None,
    limit: int = 20,
    offset: int = 0,
) -> Page[SkillRun]:
    check_page(limit, offset)
    query = select(SkillRunRow).where(SkillRunRow.user_id == user_id)
    if status is not None:
        try:
            query = query.where(SkillRunRow.status == SkillRunStatus(status).value)
        except ValueError as exc:
            raise ValidationFailed("unknown status", details=[{"field": "status"}]) from exc
    if skill_name is not None:
        query = query.where(SkillRunRow.skill_name == skill_name)
    if client_id is not None:
        query = query.where(SkillRunRow.client_id == client_id)
    async with db.transaction() as session:
        total = await count(session, query)
        rows = (
            await session.scalars(
                query.order_by(SkillRunRow.queued_at.desc(), SkillRunRow.id).limit(limit).offset(offset)
            )
        ).all()
        outputs = {
            o.run_id: o
            for o in (await session.scalars(select(OutputRow).where(OutputRow.run_id.in_([r.id for r in rows])))).all()
        }
    return Page([SkillRun.of(r, outputs.get(r.id)) for r in rows], total, limit, offset)


async def estimate_wait_seconds(db: Database, user_id: uuid.UUID) -> int:
    """A rough wait: skill-execute starts at most 10 runs a minute per user, so count the queue ahead."""
    async with db.transaction() as session:
        queued = await session.scalar(
            select(func.count())
            .select_from(SkillRunRow)
            .where(SkillRunRow.user_id == user_id, SkillRunRow.status == SkillRunStatus.QUEUED.value)
        )
    ahead = max(int(queued or 0) - 1, 0)
    return (ahead // THROTTLE_PER_MINUTE) * 60


async def cancel_run(db: Database, canceller: RunCanceller, user_id: uuid.UUID, run_id: uuid.UUID) -> SkillRun:
    """Cancel a queued or running run. The row is marked first (the function checks it before each step),
    then the engine is asked to stop the function run when its id is known."""
    async with db.transaction() as session:
        row = await session.get(SkillRunRow, run_id)
        if row is None or row.user_id != user_id:
            raise RunNotFound("run not found")
        result = await session.execute(
            update(SkillRunRow)
            .where(SkillRunRow.id == run_id, SkillRunRow.status.in_(_ACTIVE))
            .values(status=SkillRunStatus.CANCELLED.value, completed_at=utcnow())
        )
        if result.rowcount == 0:  # type: ignore[attr-defined]
            await session.refresh(row)
            raise Conflict(f"run is already {row.status}", details={"status": row.status})
        engine_run_id = row.engine_run_id
    if engine_run_id:
        try:
            await canceller.cancel(engine_run_id)
        except MarketingAgentError as exc:
            # The run is already cancelled for us; the function sees that at its next step.
            logger.warning("engine cancel failed", extra={"run_id": str(run_id), "error": exc.message})
    return await get_skill_run(db, run_id)
