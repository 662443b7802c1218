"""``/workflows`` (definitions, starting a run) and ``/workflow-runs`` (read, review, cancel)."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter

from marketing_agent.api.auth import Context, CurrentUser
from marketing_agent.api.routes._common import ERRORS, Limit, Offset
from marketing_agent.api.schemas import Envelope, ErrorEnvelope
from marketing_agent.api.workflow_schemas import (
    ReviewIn,
    WorkflowListOut,
    WorkflowOut,
    WorkflowRunCreateIn,
    WorkflowRunListOut,
    WorkflowRunOut,
    WorkflowRunQueuedOut,
)
from marketing_agent.services import (
    cancel_workflow_run,
    get_workflow_run,
    list_workflow_runs,
    load_workflows,
    review_stage,
    start_workflow_run,
)

router = APIRouter(tags=["workflows"], responses=ERRORS)
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorEnvelope, "description": "The stage does not await a review / the run ended."}
}


@router.get("/workflows", response_model=Envelope[WorkflowListOut])
async def workflows_index(user: CurrentUser, ctx: Context) -> Envelope[WorkflowListOut]:
    catalog = await load_workflows(ctx.database, ctx.settings, ctx.store)
    items = [WorkflowOut.of(d) for d in catalog.all()]
    return Envelope(data=WorkflowListOut(workflows=items, total=len(items)))


@router.post(
    "/workflows/{name}/runs",
    status_code=202,
    response_model=Envelope[WorkflowRunQueuedOut],
    responses={503: {"model": ErrorEnvelope, "description": "The engine did not accept the run; it is failed."}},
)
async def workflow_runs_create(
    name: str, body: WorkflowRunCreateIn, user: CurrentUser, ctx: Context
) -> Envelope[WorkflowRunQueuedOut]:
    definition = (await load_workflows(ctx.database, ctx.settings, ctx.store)).require(name)
    run = await start_workflow_run(ctx.database, ctx.events, user.id, definition, body.inputs, client_id=body.client_id)
    return Envelope(data=WorkflowRunQueuedOut(workflow_run_id=run.id, status=run.status))


@router.get("/workflow-runs", response_model=Envelope[WorkflowRunListOut])
async def workflow_runs_index(
    user: CurrentUser, ctx: Context, limit: Limit = 20, offset: Offset = 0
) -> Envelope[WorkflowRunListOut]:
    page = await list_workflow_runs(ctx.database, user.id, limit=limit, offset=offset)
    return Envelope(
        data=WorkflowRunListOut(
            workflow_runs=[WorkflowRunOut.of(r) for r in page.items], total=page.total, limit=limit, offset=offset
        )
    )


@router.get("/workflow-runs/{workflow_run_id}", response_model=Envelope[WorkflowRunOut])
async def workflow_runs_show(workflow_run_id: uuid.UUID, user: CurrentUser, ctx: Context) -> Envelope[WorkflowRunOut]:
    return Envelope(data=WorkflowRunOut.of(await get_workflow_run(ctx.database, user.id, workflow_run_id)))


@router.post(
    "/workflow-runs/{workflow_run_id}/stages/{stage}/review",
    status_code=202,
    response_model=Envelope[WorkflowRunOut],
    responses=_CONFLICT,
)
async def workflow_stage_review(
    workflow_run_id: uuid.UUID, stage: str, body: ReviewIn, user: CurrentUser, ctx: Context
) -> Envelope[WorkflowRunOut]:
    run = await review_stage(ctx.database, ctx.events, user.id, workflow_run_id, stage, body.decision, body.notes)
    return Envelope(data=WorkflowRunOut.of(run))


@router.post("/workflow-runs/{workflow_run_id}/cancel", response_model=Envelope[WorkflowRunOut], responses=_CONFLICT)
async def workflow_runs_cancel(workflow_run_id: uuid.UUID, user: CurrentUser, ctx: Context) -> Envelope[WorkflowRunOut]:
    return Envelope(
        data=WorkflowRunOut.of(await cancel_workflow_run(ctx.database, ctx.canceller, user.id, workflow_run_id))
    )
