"""Fixtures for the functions' integration tests: a migrated app database on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from marketing_agent.agent.skill import Skill, SkillSource
from marketing_agent.services import Database, User, create_user, sync_skills, upgrade_database


def make_skill(name: str) -> Skill:
    return Skill(name=name, description=f"The {name} skill.", instructions="Do it.", source=SkillSource.BUILTIN)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    await upgrade_database(database_url)
    database = Database(database_url)
    try:
        await sync_skills(database, [make_skill("copywriting"), make_skill("seo-audit")])
        yield database
    finally:
        await database.dispose()


@pytest.fixture
async def user(db: Database) -> User:
    return (await create_user(db, "ada@example.com")).user
