"""Fixtures for the service tests: a migrated database (SQLite and PostgreSQL), a local store, events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from marketing_agent.agent.skill import Skill, SkillMetadata, SkillSource
from marketing_agent.services import (
    Database,
    InMemoryEventSender,
    User,
    create_user,
    sync_skills,
    upgrade_database,
)
from marketing_agent.storage import LocalObjectStore


def make_skill(name: str, **meta: object) -> Skill:
    return Skill(
        name=name,
        description=f"The {name} skill.",
        instructions="Do the work.",
        source=SkillSource.BUILTIN,
        metadata=SkillMetadata(**meta),  # type: ignore[arg-type]
    )


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    await upgrade_database(database_url)
    database = Database(database_url)
    try:
        await sync_skills(database, [make_skill("copywriting", type="copy"), make_skill("seo-audit")])
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "store")


@pytest.fixture
def events() -> InMemoryEventSender:
    return InMemoryEventSender()


@pytest.fixture
async def user(db: Database) -> User:
    return (await create_user(db, "ada@example.com")).user
