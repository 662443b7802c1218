"""Fresh PostgreSQL databases for tests.

In CI (``CI`` set) PostgreSQL must answer: a test that needs it fails instead of skipping. Elsewhere the test
is skipped when no server answers on ``TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
import pytest

ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN_URL, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def postgres_reachable() -> str | None:
    """None when PostgreSQL answers, else the reason it does not."""
    try:
        _run(_admin("SELECT 1"))
    except Exception as exc:  # any failure to connect means "not reachable"
        return f"{type(exc).__name__}: {exc}"
    return None


def require_postgres() -> None:
    reason = postgres_reachable()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required in CI but unreachable at {ADMIN_URL}: {reason}")
    pytest.skip(f"PostgreSQL unreachable at {ADMIN_URL}: {reason}")


@contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """Create an empty database, yield its ``postgresql://`` URL, drop it afterwards."""
    require_postgres()
    name = f"t_{uuid.uuid4().hex[:16]}"
    _run(_admin(f'CREATE DATABASE "{name}"'))
    base, _, _ = ADMIN_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        _run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
