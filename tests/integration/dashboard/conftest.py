"""Fixtures for the dashboard's integration tests: a real engine + SDK app (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from integration.dashboard.dashboard_stack import DashStack, dashboard_stack


@pytest.fixture
async def stack(database_url: str, tmp_path: Path) -> AsyncIterator[DashStack]:
    async with dashboard_stack(tmp_path, database_url) as s:
        yield s


@pytest.fixture
async def sqlite_stack(tmp_path: Path) -> AsyncIterator[DashStack]:
    async with dashboard_stack(tmp_path) as s:
        yield s
