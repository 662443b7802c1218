"""The skills table: what the API lists and what a run may name. Kept in step with the skill catalog."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from marketing_agent.agent.skill import Skill
from marketing_agent.db.models import SkillMetricsRow, SkillRow
from marketing_agent.db.session import Database
from marketing_agent.db.types import utcnow
from marketing_agent.errors import SkillNotFound
from marketing_agent.services.records import SkillInfo, SkillMetrics

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SkillSyncResult:
    added: list[str]
    updated: list[str]
    disabled: list[str]  # in the table but no longer in the catalog: kept (past runs name them), not offered


async def sync_skills(db: Database, skills: Iterable[Skill]) -> SkillSyncResult:
    """Make the table match the catalog: add new skills, refresh changed ones, disable vanished ones."""
    catalog = {skill.name: skill for skill in skills}
    added: list[str] = []
    updated: list[str] = []
    disabled: list[str] = []
    async with db.transaction() as session:
        rows = {row.name: row for row in (await session.scalars(select(SkillRow))).all()}
        for name, skill in sorted(catalog.items()):
            values = {
                "description": skill.description,
                "type": skill.metadata.type,
                "category": skill.metadata.category.value if skill.metadata.category else None,
                "source": skill.source.value,
                "enabled": True,
                "trigger_keywords": list(skill.metadata.trigger_keywords),
                "related_skills": list(skill.metadata.related_skills),
                "has_rules": skill.has_rules,
                "has_subdirectories": skill.has_subdirectories,
            }
            row = rows.get(name)
            if row is None:
                session.add(SkillRow(id=uuid.uuid4(), name=name, **values))
                added.append(name)
            elif any(getattr(row, key) != value for key, value in values.items()):
                for key, value in values.items():
                    setattr(row, key, value)
                row.updated_at = utcnow()
                updated.append(name)
        for name, row in sorted(rows.items()):
            if name not in catalog and row.enabled:
                row.enabled = False
                row.updated_at = utcnow()
                disabled.append(name)
    logger.info("skills synced", extra={"added": len(added), "updated": len(updated), "disabled": len(disabled)})
    return SkillSyncResult(added, updated, disabled)


async def list_skills(db: Database, *, include_disabled: bool = False) -> list[SkillInfo]:
    query = select(SkillRow).order_by(SkillRow.name)
    if not include_disabled:
        query = query.where(SkillRow.enabled.is_(True))
    async with db.transaction() as session:
        return [SkillInfo.of(row) for row in (await session.scalars(query)).all()]


async def get_skill(db: Database, name: str) -> SkillInfo:
    """An enabled skill by name; :class:`SkillNotFound` otherwise."""
    async with db.transaction() as session:
        row = await session.scalar(select(SkillRow).where(SkillRow.name == name))
    if row is None or not row.enabled:
        raise SkillNotFound(f"skill {name!r} not found")
    return SkillInfo.of(row)


async def get_skill_metrics(db: Database, name: str) -> SkillMetrics:
    """Aggregates for a skill (zeros and no averages before its first run or feedback)."""
    async with db.transaction() as session:
        exists = await session.scalar(select(SkillRow.id).where(SkillRow.name == name))
        row = await session.get(SkillMetricsRow, name)
    if exists is None and row is None:
        raise SkillNotFound(f"skill {name!r} not found")
    return SkillMetrics.of(row) if row is not None else SkillMetrics.empty(name)
