"""Applying every migration yields exactly the models' schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, MetaData, String, inspect
from sqlalchemy.engine import Connection

from marketing_agent.db import Base, current_revision, upgrade_database
from marketing_agent.db.session import create_engine


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_migrations_match_models(database_url: str) -> None:
    await upgrade_database(database_url)
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(_diff)
            tables = await conn.run_sync(_tables)
    finally:
        await engine.dispose()
    assert diff == []
    assert set(Base.metadata.tables) <= tables


async def test_upgrade_is_idempotent_and_records_head(database_url: str) -> None:
    await upgrade_database(database_url)
    await upgrade_database(database_url)
    assert await current_revision(database_url) is not None


async def test_the_comparison_notices_a_drift(tmp_path: Path) -> None:
    """Guard for the guard: a column the migrations lack must show up in the diff."""
    url = f"sqlite:///{tmp_path / 'drift.db'}"
    await upgrade_database(url)
    drifted = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(drifted)
    drifted.tables["users"].append_column(Column("nickname", String(40)))

    def diff(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, drifted))

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            found = await conn.run_sync(diff)
    finally:
        await engine.dispose()
    assert [entry[0] for entry in found] == ["add_column"]


async def test_concurrent_upgrades_do_not_collide(database_url: str) -> None:
    """Replicas starting together all migrate the same database; exactly one applies the migrations."""
    import asyncio

    await asyncio.gather(*(upgrade_database(database_url) for _ in range(3)))
    assert await current_revision(database_url) is not None
