"""Fixtures of the agent loop tests: the loopback website and a refused server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from marketing_agent.agent.skill import Skill, SkillSource
from marketing_agent.agent.tools import WebFetcher
from marketing_agent.netguard import AllowList
from marketing_agent.services import Database, User, create_user, sync_skills, upgrade_database
from support.fake_anthropic import FakeAnthropic
from support.fake_openai import FakeOpenAI
from support.loopback_site import LoopbackSite


@pytest.fixture
def site() -> Iterator[LoopbackSite]:
    with LoopbackSite("127.0.0.2", slow_seconds=3.0) as running:
        yield running


@pytest.fixture
def forbidden() -> Iterator[LoopbackSite]:
    """A server on 127.0.0.1, which no test allow-lists: it must never see a request."""
    with LoopbackSite("127.0.0.1") as running:
        yield running


@pytest.fixture
def fetcher() -> WebFetcher:
    return WebFetcher(AllowList.parse("127.0.0.2"), timeout_seconds=1.5)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    await upgrade_database(database_url)
    database = Database(database_url)
    try:
        skill = Skill(
            name="site-audit", description="Audits a site.", instructions="Do it.", source=SkillSource.BUILTIN
        )
        await sync_skills(database, [skill])
        yield database
    finally:
        await database.dispose()


@pytest.fixture
async def user(db: Database) -> User:
    return (await create_user(db, "ada@example.com")).user


@pytest.fixture
def anthropic() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as server:
        yield server


@pytest.fixture
def openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server
