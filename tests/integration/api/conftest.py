"""A real app on a migrated database (SQLite and PostgreSQL), a local store, in-memory event sender."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from marketing_agent.api import create_api_app
from marketing_agent.services import (
    Database,
    InMemoryEventSender,
    InMemoryRunCanceller,
    create_user,
    sync_skills,
    upgrade_database,
)
from marketing_agent.settings import load_settings
from marketing_agent.storage import LocalObjectStore
from support.api_harness import Api, make_skill


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[Api]:
    await upgrade_database(database_url)
    database = Database(database_url)
    await sync_skills(database, [make_skill("copywriting"), make_skill("seo-audit")])
    store = LocalObjectStore(tmp_path / "store")
    events = InMemoryEventSender()
    canceller = InMemoryRunCanceller()
    settings = load_settings(data_dir=tmp_path, public_api_url="http://testserver")
    app = create_api_app(settings, database=database, store=store, event_sender=events, run_canceller=canceller)
    key = (await create_user(database, "ada@example.com")).api_key
    other_key = (await create_user(database, "eve@example.com")).api_key
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield Api(app, http, database, store, events, canceller, key, other_key)
    await database.dispose()
