"""Fixtures of the functions' unit tests (fakes in :mod:`support.function_fakes`)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from marketing_agent.functions import FunctionDeps, build_functions
from marketing_agent.settings import Settings
from marketing_agent.storage import MemoryObjectStore
from support.function_fakes import FakeNotifications, FakeServices, Harness, RecordingClient, ScriptedExecutor


@pytest.fixture
def event_loop_for_mocked() -> Iterator[asyncio.AbstractEventLoop]:
    """``mocked.trigger`` drives async handlers on the current loop, so tests are sync with one set."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        asyncio.set_event_loop(None)
        loop.close()


@pytest.fixture
def harness(event_loop_for_mocked: asyncio.AbstractEventLoop) -> Harness:
    client = RecordingClient()
    services = FakeServices()
    executor = ScriptedExecutor()
    notifications = FakeNotifications()
    store = MemoryObjectStore()
    settings = Settings(stuck_run_threshold_seconds=300, _env_file=None)  # type: ignore[call-arg]
    deps = FunctionDeps(
        settings=settings, services=services, store=store, execute=executor, notifications=notifications
    )
    functions = {fn.local_id: fn for fn in build_functions(client, deps)}
    return Harness(client, services, executor, notifications, store, functions, deps, event_loop_for_mocked)
