"""Servers the bad-input and auth tests talk to over real HTTP: an ASGI app on uvicorn in a thread.

A thread (with its own event loop) rather than the test's loop, so synchronous callers — schemathesis,
which drives ``requests`` — can use it too.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

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
from support.api_harness import make_skill
from support.net import free_port


@contextlib.contextmanager
def serve_in_thread(app: Any, port: int | None = None) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 (lifespan on) until the block ends; yields its origin."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="on"))
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"server on port {port} did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


@dataclass
class LiveApi:
    url: str
    #: Two users: ``keys[0]`` owns the seeded data, ``keys[1]`` is "another user".
    keys: tuple[str, str]
    seeded: dict[str, str]

    def auth(self, index: int = 0) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[index]}"}


async def _prepare(database_url: str) -> tuple[str, str]:
    await upgrade_database(database_url)
    database = Database(database_url)
    try:
        await sync_skills(database, [make_skill("copywriting"), make_skill("seo-audit")])
        first = (await create_user(database, "owner@example.com")).api_key
        second = (await create_user(database, "other@example.com")).api_key
    finally:
        await database.dispose()
    return first, second


@contextlib.contextmanager
def live_api(tmp_path: Path) -> Iterator[LiveApi]:
    """The real API app on a migrated SQLite database and a local store; events go to memory."""
    database_url = f"sqlite:///{tmp_path / 'app.db'}"
    keys = asyncio.run(_prepare(database_url))
    settings = load_settings(
        data_dir=tmp_path, database_url=database_url, public_api_url="http://testserver",
        api_rate_limit_per_minute=0, runs_per_day=0,  # fuzzing sends thousands of requests as one user
    )  # fmt: skip
    app = create_api_app(
        settings,
        store=LocalObjectStore(tmp_path / "store"),
        event_sender=InMemoryEventSender(),
        run_canceller=InMemoryRunCanceller(),
    )
    with serve_in_thread(app) as url:
        yield LiveApi(url=url, keys=keys, seeded={})
