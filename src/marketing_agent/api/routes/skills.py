from __future__ import annotations

from fastapi import APIRouter

from marketing_agent.api import views
from marketing_agent.api.auth import Context, CurrentUser
from marketing_agent.api.routes._common import ERRORS
from marketing_agent.api.schemas import Envelope, SkillListOut, SkillMetricsOut, SkillOut
from marketing_agent.services import get_skill, get_skill_metrics, list_skills

router = APIRouter(prefix="/skills", tags=["skills"], responses=ERRORS)


@router.get("", response_model=Envelope[SkillListOut])
async def skills_index(user: CurrentUser, ctx: Context) -> Envelope[SkillListOut]:
    skills = await list_skills(ctx.database)
    return Envelope(data=SkillListOut(skills=[views.skill_summary(s) for s in skills], total=len(skills)))


@router.get("/{name}", response_model=Envelope[SkillOut])
async def skill_show(name: str, user: CurrentUser, ctx: Context) -> Envelope[SkillOut]:
    return Envelope(data=views.skill_detail(await get_skill(ctx.database, name)))


@router.get("/{name}/metrics", response_model=Envelope[SkillMetricsOut])
async def skill_metrics(name: str, user: CurrentUser, ctx: Context) -> Envelope[SkillMetricsOut]:
    return Envelope(data=views.skill_metrics(await get_skill_metrics(ctx.database, name)))
