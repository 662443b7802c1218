"""SIGKILL the engine during turn 2 of a 3-turn run: after the restart turn 1 and its tool call are not
run again (the fake provider and the website count), turn 2 may be (its result was lost with the engine),
and the run completes with one output. On SQLite and PostgreSQL, app and engine stores alike."""

from __future__ import annotations

import asyncio
import threading
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import inngest
import pytest
from fastapi import FastAPI

from integration.agent_loop.loop_world import provider_for, turns_so_far
from marketing_agent.agent.skill import SkillSource
from marketing_agent.agent.skills import SkillCatalog, parse_skill_files
from marketing_agent.functions import FunctionDeps, close_inngest_client, serve_functions
from marketing_agent.functions.adapters import ChannelNotifications, DatabaseRunServices
from marketing_agent.functions.wiring import CatalogSkillExecutor
from marketing_agent.notify import ChannelKind, MemoryNotifier, NotifierRegistry
from marketing_agent.services import (
    Database,
    InMemoryEventSender,
    User,
    create_run,
    get_skill_run,
    list_outputs,
    make_inngest_client,
)
from marketing_agent.settings import Settings
from marketing_agent.storage import LocalObjectStore
from support.fake_anthropic import FakeAnthropic
from support.fake_llm_server import FakeReply, RecordedRequest
from support.function_stack import serve_app, stop_app
from support.loopback_site import LoopbackSite
from support.net import free_port
from support.postgres import fresh_postgres_database

with warnings.catch_warnings():  # the harness imports inngest.fast_api, which warns on import
    warnings.simplefilter("ignore", DeprecationWarning)
    from integration.engine.harness import EngineProcess

SKILL = """---
name: site-audit
description: Audits a website from the pages it fetches.
allowed-tools: web_fetch
---
Fetch the site's pages and audit them. Cite every URL.
"""


@pytest.fixture
def engine_url(database_kind: str, tmp_path: Path) -> Iterator[str]:
    """The engine's store, of the same kind as the app's (a sync fixture: it sets up PostgreSQL itself)."""
    if database_kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'engine.db'}"
    else:
        with fresh_postgres_database() as url:
            yield url


async def test_sigkill_during_turn_two_resumes_at_turn_two(
    tmp_path: Path, engine_url: str, db: Database, user: User, anthropic: FakeAnthropic, site: LoopbackSite
) -> None:
    calls: Counter[int] = Counter()
    in_turn_two = threading.Event()

    def answer(request: RecordedRequest) -> FakeReply:
        turn = turns_so_far(request)
        calls[turn] += 1
        if turn == 0:
            return FakeReply(text="", tool_calls=({"name": "web_fetch", "input": {"url": site.url("/")}},))
        if turn == 1:
            in_turn_two.set()
            # the first time, slow enough for the engine to be killed while the call is in flight
            return FakeReply(
                text="", delay=3.0 if calls[1] == 1 else 0.0,
                tool_calls=({"name": "web_fetch", "input": {"url": site.url("/pricing")}},),
            )  # fmt: skip
        return FakeReply(text=f"# Site audit\n\nPlans start at $19 ([source]({site.url('/pricing')})).\n")

    anthropic.responder = answer
    store = LocalObjectStore(tmp_path / "store")
    skill = parse_skill_files("site-audit", {"SKILL.md": SKILL}, SkillSource.BUILTIN, "test")
    provider = provider_for(anthropic)
    engine = EngineProcess(engine_url, lease_seconds=2.0)
    engine.start()
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        inngest_base_url=engine.url,
        inngest_dev="1",
        alert_channels="log",
        web_fetch_allow_hosts="127.0.0.2",
    )
    executor = CatalogSkillExecutor(settings, store, provider=provider, catalog=SkillCatalog({"site-audit": skill}))
    deps = FunctionDeps(
        settings=settings,
        services=DatabaseRunServices(db, settings),
        store=store,
        execute=executor,
        notifications=ChannelNotifications(settings, db, NotifierRegistry({ChannelKind.LOG: MemoryNotifier()})),
        agent=executor,
    )
    client = make_inngest_client(settings)
    app = FastAPI()
    serve_functions(app, deps, client)
    app_port = free_port()
    server = await serve_app(app, app_port)
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            synced = await http.post(
                f"{engine.url}/v1/apps/sync", json={"url": f"http://127.0.0.1:{app_port}/api/inngest"}
            )
            synced.raise_for_status()
            events = InMemoryEventSender()
            run = await create_run(db, events, user.id, skill_name="site-audit", message="Audit the site")
            [event] = events.sent
            await client.send(inngest.Event(name=event.name, data=event.data))

            assert await asyncio.to_thread(in_turn_two.wait, 30)
            await asyncio.sleep(0.3)
            await asyncio.to_thread(engine.kill)
            await asyncio.to_thread(engine.start)

            deadline = time.monotonic() + 90
            while (done := await get_skill_run(db, run.id)).status.value not in {"completed", "failed"}:
                assert time.monotonic() < deadline, f"run still {done.status}"
                await asyncio.sleep(0.1)
    finally:
        await stop_app(*server)
        await close_inngest_client(client)
        await provider.aclose()
        await asyncio.to_thread(engine.stop)

    assert done.status.value == "completed", done.error_message
    assert calls[0] == 1  # turn 1 was memoized: never called again after the crash
    assert calls[1] >= 1
    assert calls[2] == 1
    assert site.requests.count("/") == 1  # tool-1 (fetch /) was memoized too
    outputs = await list_outputs(db, user.id)
    assert [o.run_id for o in outputs.items] == [run.id]
