from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from marketing_agent.api import views
from marketing_agent.api.auth import Context, CurrentUser
from marketing_agent.api.routes._common import ERRORS, Limit, Offset
from marketing_agent.api.schemas import Envelope, FeedbackCreatedOut, FeedbackCreateIn, FeedbackListOut
from marketing_agent.services import FeedbackIssue, create_feedback, list_feedback

router = APIRouter(prefix="/feedback", tags=["feedback"], responses=ERRORS)

Score = Annotated[int | None, Query(ge=1, le=5)]


@router.post("", status_code=201, response_model=Envelope[FeedbackCreatedOut])
async def feedback_create(body: FeedbackCreateIn, user: CurrentUser, ctx: Context) -> Envelope[FeedbackCreatedOut]:
    created = await create_feedback(
        ctx.database,
        ctx.events,
        user.id,
        output_id=body.output_id,
        overall_score=body.overall_score,
        accuracy_score=body.accuracy_score,
        quality_score=body.quality_score,
        usefulness_score=body.usefulness_score,
        rule_compliance_score=body.rule_compliance_score,
        what_worked_well=body.what_worked_well,
        issues=[FeedbackIssue(i.description, i.severity, i.suggested_fix) for i in body.issues or []],
        comment=body.comment,
        source=body.source or "api",
    )
    return Envelope(
        data=FeedbackCreatedOut(
            id=created.id,
            output_id=created.output_id,
            overall_score=created.overall_score,
            created_at=created.created_at,
        )
    )


@router.get("", response_model=Envelope[FeedbackListOut])
async def feedback_index(
    *,
    user: CurrentUser,
    ctx: Context,
    skill_name: Annotated[str | None, Query(alias="skillName")] = None,
    min_score: Annotated[int | None, Query(alias="minScore", ge=1, le=5)] = None,
    max_score: Annotated[int | None, Query(alias="maxScore", ge=1, le=5)] = None,
    limit: Limit = 20,
    offset: Offset = 0,
) -> Envelope[FeedbackListOut]:
    page = await list_feedback(
        ctx.database,
        user.id,
        skill_name=skill_name,
        min_score=min_score,
        max_score=max_score,
        limit=limit,
        offset=offset,
    )
    return Envelope(
        data=FeedbackListOut(
            feedback=[views.feedback(f) for f in page.items], total=page.total, limit=limit, offset=offset
        )
    )
