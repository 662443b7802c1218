"""``/schedules``: cron schedules that start a skill run or a workflow run."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from marketing_agent.api.auth import Context, CurrentUser
from marketing_agent.api.routes._common import ERRORS
from marketing_agent.api.schemas import DeletedOut, Envelope
from marketing_agent.api.workflow_schemas import ScheduleCreateIn, ScheduleListOut, ScheduleOut
from marketing_agent.services import create_schedule, delete_schedule, list_schedules, set_schedule_paused

router = APIRouter(prefix="/schedules", tags=["schedules"], responses=ERRORS)


@router.post("", status_code=201, response_model=Envelope[ScheduleOut])
async def schedules_create(body: ScheduleCreateIn, user: CurrentUser, ctx: Context) -> Envelope[ScheduleOut]:
    schedule = await create_schedule(
        ctx.database,
        ctx.settings,
        ctx.store,
        user.id,
        cron=body.cron,
        timezone=body.timezone,
        skill_name=body.skill_name,
        message=body.message,
        workflow=body.workflow,
        inputs=dict(body.inputs) if body.inputs is not None else None,
        client_id=body.client_id,
    )
    return Envelope(data=ScheduleOut.of(schedule))


@router.get("", response_model=Envelope[ScheduleListOut])
async def schedules_index(user: CurrentUser, ctx: Context) -> Envelope[ScheduleListOut]:
    items = [ScheduleOut.of(s) for s in await list_schedules(ctx.database, user.id)]
    return Envelope(data=ScheduleListOut(schedules=items, total=len(items)))


@router.post("/{schedule_id}/pause", response_model=Envelope[ScheduleOut])
async def schedules_pause(schedule_id: uuid.UUID, user: CurrentUser, ctx: Context) -> Envelope[ScheduleOut]:
    return Envelope(data=ScheduleOut.of(await set_schedule_paused(ctx.database, user.id, schedule_id, paused=True)))


@router.post("/{schedule_id}/resume", response_model=Envelope[ScheduleOut])
async def schedules_resume(schedule_id: uuid.UUID, user: CurrentUser, ctx: Context) -> Envelope[ScheduleOut]:
    return Envelope(data=ScheduleOut.of(await set_schedule_paused(ctx.database, user.id, schedule_id, paused=False)))


@router.delete("/{schedule_id}", response_model=Envelope[DeletedOut])
async def schedules_delete(schedule_id: uuid.UUID, user: CurrentUser, ctx: Context) -> Envelope[DeletedOut]:
    await delete_schedule(ctx.database, user.id, schedule_id)
    return Envelope(data=DeletedOut())
