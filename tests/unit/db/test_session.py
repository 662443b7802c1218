from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from marketing_agent.db import Database, normalize_database_url, upgrade_database
from marketing_agent.db.models import UserRow
from marketing_agent.errors import ConfigError


@pytest.mark.parametrize(
    ("plain", "driver"),
    [
        ("sqlite:///app.db", "sqlite+aiosqlite"),
        ("sqlite+aiosqlite:///app.db", "sqlite+aiosqlite"),
        ("postgresql://u@h/db", "postgresql+asyncpg"),
        ("postgres://u@h/db", "postgresql+asyncpg"),
        ("postgresql+psycopg://u@h/db", "postgresql+asyncpg"),
    ],
)
def test_plain_urls_get_their_async_driver(plain: str, driver: str) -> None:
    assert normalize_database_url(plain).drivername == driver


@pytest.mark.parametrize("bad", ["mysql://u@h/db", "not a url", "sqlite://", ""])
def test_unsupported_urls_are_config_errors(bad: str) -> None:
    with pytest.raises(ConfigError):
        normalize_database_url(bad)


async def test_timestamps_come_back_aware_utc(database_url: str) -> None:
    await upgrade_database(database_url)
    db = Database(database_url)
    try:
        plus_two = datetime(2026, 1, 2, 12, 0, tzinfo=timezone(timedelta(hours=2)))
        async with db.transaction() as session:
            session.add(UserRow(email="a@b.co", api_key_hash="0" * 64, created_at=plus_two))
        async with db.transaction() as session:
            row = await session.scalar(select(UserRow))
        assert row is not None
        assert row.created_at == plus_two
        assert row.created_at.tzinfo is UTC
        assert row.created_at.hour == 10
        with pytest.raises(Exception, match="naive"):
            async with db.transaction() as session:
                session.add(UserRow(email="b@b.co", api_key_hash="1" * 64, created_at=datetime(2026, 1, 1)))
    finally:
        await db.dispose()


async def test_ping_and_rollback(database_url: str) -> None:
    await upgrade_database(database_url)
    db = Database(database_url)
    try:
        await db.ping()

        async def add_then_fail() -> None:
            async with db.transaction() as session:
                session.add(UserRow(email="a@b.co", api_key_hash="0" * 64))
                await session.flush()
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            await add_then_fail()
        async with db.transaction() as session:
            assert (await session.scalars(select(UserRow))).all() == []
    finally:
        await db.dispose()
