from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from marketing_agent.agent.spend import check_spend
from marketing_agent.api import views
from marketing_agent.api.auth import Context, CurrentUser
from marketing_agent.api.routes._common import ERRORS, Limit, Offset
from marketing_agent.api.schemas import Envelope, ErrorEnvelope, RunCreateIn, RunListOut, RunOut, RunQueuedOut
from marketing_agent.services import (
    AUTO_SKILL,
    cancel_run,
    check_daily_runs,
    create_detected_run,
    create_run,
    estimate_wait_seconds,
    get_run,
    list_runs,
)

router = APIRouter(prefix="/runs", tags=["runs"], responses=ERRORS)

StatusFilter = Annotated[str | None, Query(pattern="^(queued|running|completed|failed|cancelled)$")]


@router.post(
    "",
    status_code=202,
    response_model=Envelope[RunQueuedOut],
    responses={
        422: {"model": ErrorEnvelope, "description": '"skillName": "auto" and no skill is confident: the candidates.'},
        503: {"model": ErrorEnvelope, "description": "The engine did not accept the run; it is failed."},
    },
)
async def runs_create(body: RunCreateIn, user: CurrentUser, ctx: Context) -> Envelope[RunQueuedOut]:
    options = None if body.options is None else body.options.to_wire()
    check_spend(options, ctx.settings)  # model allow-list, token caps: a clear 422 now, not a failed run
    await check_daily_runs(ctx.database, user.id, ctx.settings.runs_per_day)
    if body.skill_name == AUTO_SKILL:
        run, _ = await create_detected_run(
            ctx.database,
            ctx.events,
            ctx.detector,
            user.id,
            message=body.message,
            client_id=body.client_id,
            options=options,
        )
    else:
        run = await create_run(
            ctx.database,
            ctx.events,
            user.id,
            skill_name=body.skill_name,
            message=body.message,
            client_id=body.client_id,
            options=options,
        )
    wait = await estimate_wait_seconds(ctx.database, user.id)
    return Envelope(
        data=RunQueuedOut(
            run_id=run.id,
            status=run.status.value,
            skill=run.skill_name,
            client_id=run.client_id,
            queued_at=run.queued_at,
            estimated_wait_time=wait,
        )
    )


@router.get("", response_model=Envelope[RunListOut])
async def runs_index(
    *,
    user: CurrentUser,
    ctx: Context,
    status: StatusFilter = None,
    skill_name: Annotated[str | None, Query(alias="skillName")] = None,
    client_id: Annotated[uuid.UUID | None, Query(alias="clientId")] = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> Envelope[RunListOut]:
    page = await list_runs(
        ctx.database,
        user.id,
        status=status,
        skill_name=skill_name,
        client_id=client_id,
        limit=limit,
        offset=offset,
    )
    return Envelope(
        data=RunListOut(runs=[views.run_item(r) for r in page.items], total=page.total, limit=limit, offset=offset)
    )


@router.get("/{run_id}", response_model=Envelope[RunOut])
async def runs_show(run_id: uuid.UUID, user: CurrentUser, ctx: Context) -> Envelope[RunOut]:
    return Envelope(data=views.run(await get_run(ctx.database, user.id, run_id)))


@router.post(
    "/{run_id}/cancel",
    response_model=Envelope[RunOut],
    responses={409: {"model": ErrorEnvelope, "description": "The run already finished."}},
)
async def runs_cancel(run_id: uuid.UUID, user: CurrentUser, ctx: Context) -> Envelope[RunOut]:
    return Envelope(data=views.run(await cancel_run(ctx.database, ctx.canceller, user.id, run_id)))
