"""Schedules: a cron expression in a time zone that starts a skill run or a workflow run.

Exactly once per due time: ``due_schedule_fires`` only reads (which schedule is due, at which fire time);
``fire_schedule`` claims the fire by inserting ``schedule_fires (schedule_id, fire_at)`` — unique, so a
second engine, a restart or a resent event finds the row instead of starting a second run — and derives
the run's id from the schedule and fire time, so a step re-run after a crash finds the run it started.
Missed fires (the engines were down for an hour) collapse into one: the fire time is the latest due time,
and the next fire is computed from now.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from marketing_agent.db.models import ClientRow, ScheduleFireRow, ScheduleRow, SkillRow
from marketing_agent.db.session import Database
from marketing_agent.db.types import utcnow
from marketing_agent.errors import (
    ClientNotFound,
    MarketingAgentError,
    ScheduleNotFound,
    SkillNotFound,
    ValidationFailed,
)
from marketing_agent.services._common import as_uuid
from marketing_agent.services.events import EventSender
from marketing_agent.services.runs import MESSAGE_MAX, create_run
from marketing_agent.services.workflow_records import Schedule, ScheduleFire
from marketing_agent.services.workflows import load_workflows, start_workflow_run
from marketing_agent.settings import Settings
from marketing_agent.storage import ObjectStore

logger = logging.getLogger(__name__)

SCHEDULE_RUN_NAMESPACE = uuid.UUID("0d8b6f3e-61c4-4a9e-8d0f-5a3c2b1e9f47")
LAST_RUNS = 5
MAX_SCHEDULES_PER_USER = 100


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, details=[{"field": field, "message": message}])


def check_cron(cron: str) -> str:
    """Five fields (minute hour day month weekday); anything else is a 422 naming ``cron``."""
    text = " ".join(cron.split())
    if len(text.split(" ")) != 5 or not croniter.is_valid(text):
        raise _invalid("cron", f"{cron!r} is not a 5-field cron expression (minute hour day month weekday)")
    return text


def check_timezone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise _invalid("timezone", f"{timezone!r} is not an IANA time zone (e.g. Europe/Berlin)") from exc


def next_fire_after(cron: str, timezone: str, after: datetime) -> datetime:
    zone = ZoneInfo(timezone)
    nxt: datetime = croniter(cron, after.astimezone(zone)).get_next(datetime)
    return nxt.astimezone(UTC)


def latest_fire_at_or_before(cron: str, timezone: str, now: datetime) -> datetime:
    zone = ZoneInfo(timezone)
    # croniter's get_prev is strictly before its start; start one second later so "now" itself counts.
    prev: datetime = croniter(cron, (now + timedelta(seconds=1)).astimezone(zone)).get_prev(datetime)
    return prev.astimezone(UTC)


def schedule_run_id(schedule_id: uuid.UUID, fire_at: datetime) -> uuid.UUID:
    return uuid.uuid5(SCHEDULE_RUN_NAMESPACE, f"{schedule_id}:{fire_at.astimezone(UTC).isoformat()}")


def fired_event_id(schedule_id: uuid.UUID | str, fire_at: datetime) -> str:
    """The ``schedule.fired`` event's id: one per schedule and fire time, so the event API drops repeats."""
    return f"schedule-{schedule_id}-{int(fire_at.timestamp())}"


async def create_schedule(
    db: Database,
    settings: Settings,
    store: ObjectStore | None,
    user_id: uuid.UUID,
    *,
    cron: str,
    timezone: str,
    skill_name: str | None = None,
    message: str | None = None,
    workflow: str | None = None,
    inputs: dict[str, Any] | None = None,
    client_id: uuid.UUID | None = None,
) -> Schedule:
    if (skill_name is None) == (workflow is None):
        raise _invalid("skillName", "give either skillName (with message) or workflow (with inputs)")
    cron = check_cron(cron)
    check_timezone(timezone)
    if skill_name is not None:
        if inputs is not None:
            raise _invalid("inputs", "inputs go with a workflow; a skill takes a message")
        if message is None or not message.strip() or len(message) > MESSAGE_MAX:
            raise _invalid("message", "message must be 1-10,000 characters")
    else:
        assert workflow is not None
        if message is not None:
            raise _invalid("message", "a workflow takes inputs, not a message")
        definition = (await load_workflows(db, settings, store)).require(workflow)
        definition.resolve_inputs(inputs or {})
    async with db.transaction() as session:
        if skill_name is not None:
            skill = await session.scalar(select(SkillRow).where(SkillRow.name == skill_name))
            if skill is None or not skill.enabled:
                raise SkillNotFound(f"skill {skill_name!r} not found")
        if client_id is not None:
            client = await session.get(ClientRow, client_id)
            if client is None or client.user_id != user_id:
                raise ClientNotFound("client not found")
        owned = await session.scalars(select(ScheduleRow.id).where(ScheduleRow.user_id == user_id))
        if len(owned.all()) >= MAX_SCHEDULES_PER_USER:
            raise _invalid("cron", f"at most {MAX_SCHEDULES_PER_USER} schedules per user")
        now = utcnow()
        row = ScheduleRow(
            user_id=user_id,
            skill_name=skill_name,
            workflow=workflow,
            message=message,
            inputs=inputs if workflow is not None else None,
            client_id=client_id,
            cron=cron,
            timezone=timezone,
            paused=False,
            next_fire_at=next_fire_after(cron, timezone, now),
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        await session.flush()
        return Schedule.of(row)


async def _with_fires(session: Any, rows: list[ScheduleRow]) -> list[Schedule]:
    out: list[Schedule] = []
    for row in rows:
        fires = (
            await session.scalars(
                select(ScheduleFireRow)
                .where(ScheduleFireRow.schedule_id == row.id)
                .order_by(ScheduleFireRow.fire_at.desc())
                .limit(LAST_RUNS)
            )
        ).all()
        out.append(Schedule.of(row, list(fires)))
    return out


async def list_schedules(db: Database, user_id: uuid.UUID) -> list[Schedule]:
    async with db.transaction() as session:
        rows = (
            await session.scalars(
                select(ScheduleRow)
                .where(ScheduleRow.user_id == user_id)
                .order_by(ScheduleRow.created_at, ScheduleRow.id)
            )
        ).all()
        return await _with_fires(session, list(rows))


async def get_schedule(db: Database, user_id: uuid.UUID, schedule_id: uuid.UUID) -> Schedule:
    async with db.transaction() as session:
        row = await session.get(ScheduleRow, schedule_id)
        if row is None or row.user_id != user_id:
            raise ScheduleNotFound("schedule not found")
        return (await _with_fires(session, [row]))[0]


async def set_schedule_paused(db: Database, user_id: uuid.UUID, schedule_id: uuid.UUID, *, paused: bool) -> Schedule:
    """Pause, or resume — a resumed schedule fires next at its next due time after now, not for the past."""
    async with db.transaction() as session:
        row = await session.get(ScheduleRow, schedule_id)
        if row is None or row.user_id != user_id:
            raise ScheduleNotFound("schedule not found")
        now = utcnow()
        if row.paused and not paused:
            row.next_fire_at = next_fire_after(row.cron, row.timezone, now)
        row.paused = paused
        row.updated_at = now
    return await get_schedule(db, user_id, schedule_id)


async def delete_schedule(db: Database, user_id: uuid.UUID, schedule_id: uuid.UUID) -> None:
    async with db.transaction() as session:
        row = await session.get(ScheduleRow, schedule_id)
        if row is None or row.user_id != user_id:
            raise ScheduleNotFound("schedule not found")
        await session.execute(delete(ScheduleRow).where(ScheduleRow.id == schedule_id))


async def due_schedule_fires(db: Database, now: datetime | None = None) -> list[tuple[uuid.UUID, datetime]]:
    """(schedule, fire time) for every active schedule that is due; missed fires collapse into the latest."""
    now = now or utcnow()
    async with db.transaction() as session:
        rows = (
            await session.scalars(
                select(ScheduleRow).where(ScheduleRow.paused.is_(False), ScheduleRow.next_fire_at <= now)
            )
        ).all()
    due: list[tuple[uuid.UUID, datetime]] = []
    for row in rows:
        assert row.next_fire_at is not None
        fire_at = max(latest_fire_at_or_before(row.cron, row.timezone, now), row.next_fire_at)
        due.append((row.id, fire_at))
    return due


async def fire_schedule(
    db: Database,
    events: EventSender,
    settings: Settings,
    store: ObjectStore | None,
    schedule_id: uuid.UUID | str,
    fire_at: datetime,
) -> ScheduleFire:
    """Start the schedule's run for ``fire_at`` unless that fire was already started (then return it)."""
    key = as_uuid(schedule_id, "scheduleId")
    fire_at = fire_at.astimezone(UTC)
    now = utcnow()
    try:
        async with db.transaction() as session:
            schedule = await session.get(ScheduleRow, key)
            if schedule is None:
                return ScheduleFire(fire_at, None, None, "the schedule was deleted")
            session.add(ScheduleFireRow(schedule_id=key, fire_at=fire_at, created_at=now))
            await session.flush()
            await session.execute(
                update(ScheduleRow)
                .where(ScheduleRow.id == key)
                .values(
                    last_fired_at=fire_at,
                    next_fire_at=next_fire_after(schedule.cron, schedule.timezone, max(fire_at, now)),
                    updated_at=now,
                )
            )
    except IntegrityError:
        pass  # this fire was claimed before (another engine, a restart, a re-run step): finish or report it
    async with db.transaction() as session:
        fire = await session.scalar(
            select(ScheduleFireRow).where(ScheduleFireRow.schedule_id == key, ScheduleFireRow.fire_at == fire_at)
        )
        schedule = await session.get(ScheduleRow, key)
    if fire is None or schedule is None:
        return ScheduleFire(fire_at, None, None, "the schedule was deleted")
    if fire.run_id or fire.workflow_run_id or fire.error_message:
        return ScheduleFire.of(fire)
    run_id = schedule_run_id(key, fire_at)
    values: dict[str, Any] = {}
    try:
        if schedule.workflow is not None:
            definition = (await load_workflows(db, settings, store)).require(schedule.workflow)
            await start_workflow_run(
                db,
                events,
                schedule.user_id,
                definition,
                schedule.inputs or {},
                client_id=schedule.client_id,
                schedule_id=key,
                workflow_run_id=run_id,
            )
            values["workflow_run_id"] = run_id
        else:
            assert schedule.skill_name is not None
            assert schedule.message is not None
            await create_run(
                db,
                events,
                schedule.user_id,
                skill_name=schedule.skill_name,
                message=schedule.message,
                client_id=schedule.client_id,
                run_id=run_id,
            )
            values["run_id"] = run_id
    except MarketingAgentError as exc:
        if exc.retryable:
            raise  # the engine retries the step; the claimed fire is finished then
        logger.warning("schedule fire failed", extra={"schedule_id": str(key), "error": exc.message})
        values["error_message"] = exc.message
    async with db.transaction() as session:
        await session.execute(update(ScheduleFireRow).where(ScheduleFireRow.id == fire.id).values(**values))
        refreshed = await session.get(ScheduleFireRow, fire.id)
        assert refreshed is not None
        return ScheduleFire.of(refreshed)


__all__ = [
    "check_cron",
    "check_timezone",
    "create_schedule",
    "delete_schedule",
    "due_schedule_fires",
    "fire_schedule",
    "fired_event_id",
    "get_schedule",
    "list_schedules",
    "next_fire_after",
    "schedule_run_id",
    "set_schedule_paused",
]
