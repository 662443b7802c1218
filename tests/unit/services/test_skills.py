from __future__ import annotations

import pytest

from marketing_agent.agent.skill import Skill, SkillCategory, SkillMetadata, SkillSource
from marketing_agent.errors import SkillNotFound
from marketing_agent.services import Database, get_skill, list_skills, sync_skills


def make_skill(name: str, type: str = "general") -> Skill:
    return Skill(name, f"The {name} skill.", "Do it.", SkillSource.BUILTIN, SkillMetadata(type=type))


async def test_sync_adds_updates_and_disables(db: Database) -> None:
    # The fixture synced copywriting and seo-audit.
    result = await sync_skills(db, [make_skill("copywriting", type="strategy"), make_skill("positioning")])
    assert result.added == ["positioning"]
    assert result.updated == ["copywriting"]
    assert result.disabled == ["seo-audit"]
    assert [s.name for s in await list_skills(db)] == ["copywriting", "positioning"]
    assert [s.name for s in await list_skills(db, include_disabled=True)] == ["copywriting", "positioning", "seo-audit"]
    assert (await get_skill(db, "copywriting")).type == "strategy"
    with pytest.raises(SkillNotFound):
        await get_skill(db, "seo-audit")  # disabled skills cannot be run
    again = await sync_skills(db, [make_skill("copywriting", type="strategy"), make_skill("positioning")])
    assert (again.added, again.updated, again.disabled) == ([], [], [])


async def test_sync_keeps_the_category_in_the_table(db: Database) -> None:
    categorised = Skill(
        "page-cro", "Reviews pages.", "Do it.", SkillSource.BUILTIN, SkillMetadata(category=SkillCategory.CRO)
    )
    assert (await sync_skills(db, [categorised, make_skill("mine")])).added == ["mine", "page-cro"]
    assert (await get_skill(db, "page-cro")).category is SkillCategory.CRO
    assert (await get_skill(db, "mine")).category is None
    # A skill whose category changes (say, an override in SKILLS_DIR) is updated.
    moved = Skill("mine", "The mine skill.", "Do it.", SkillSource.BUILTIN, SkillMetadata(category=SkillCategory.SEO))
    assert (await sync_skills(db, [categorised, moved])).updated == ["mine"]
    assert (await get_skill(db, "mine")).category is SkillCategory.SEO
