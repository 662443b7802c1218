"""Fixtures every suite can use. Suites add their own in a conftest.py beside their tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.postgres import fresh_postgres_database


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (``postgresql://…``), dropped after the test."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def database_kind(request: pytest.FixtureRequest) -> str:
    """Parametrizes a test over both stores; pair it with :func:`database_url`."""
    return str(request.param)


@pytest.fixture
def database_url(database_kind: str, tmp_path: Path) -> Iterator[str]:
    """A fresh database of ``database_kind`` as a plain URL: ``sqlite:///…`` or ``postgresql://…``.

    Each layer turns it into its driver's form (``sqlite+aiosqlite``, ``postgresql+asyncpg``…).
    """
    if database_kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
    else:
        with fresh_postgres_database() as url:
            yield url
