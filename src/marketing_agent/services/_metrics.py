"""Inside-a-transaction helpers for the skill_metrics row (used by run lifecycle and feedback)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from marketing_agent.db.models import SkillMetricsRow
from marketing_agent.db.types import utcnow


async def ensure_metrics_row(session: AsyncSession, skill_name: str) -> None:
    """Insert the zero row when missing. A savepoint absorbs the race with a concurrent first insert."""
    if await session.scalar(select(SkillMetricsRow.skill_name).where(SkillMetricsRow.skill_name == skill_name)):
        return
    try:
        async with session.begin_nested():
            session.add(
                SkillMetricsRow(
                    skill_name=skill_name,
                    feedback_count=0,
                    overall_sum=0,
                    accuracy_sum=0,
                    accuracy_count=0,
                    quality_sum=0,
                    quality_count=0,
                    usefulness_sum=0,
                    usefulness_count=0,
                    rule_compliance_sum=0,
                    rule_compliance_count=0,
                    health="ok",
                    runs_completed=0,
                    runs_failed=0,
                    tokens_input_total=0,
                    tokens_output_total=0,
                    cost_usd_total=0.0,
                )
            )
    except IntegrityError:
        pass


async def add_to_metrics(session: AsyncSession, skill_name: str, **increments: Any) -> None:
    """``col = col + n`` for each increment: atomic on both databases, no read-modify-write race."""
    await ensure_metrics_row(session, skill_name)
    values: dict[str, Any] = {
        name: getattr(SkillMetricsRow, name) + amount for name, amount in increments.items() if amount
    }
    values["updated_at"] = utcnow()
    await session.execute(update(SkillMetricsRow).where(SkillMetricsRow.skill_name == skill_name).values(**values))
