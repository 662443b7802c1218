"""Fixtures of the flow-control unit tests (the harness is in ``harness.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from marketing_agent.engine.config import EngineConfig
from marketing_agent.engine.execution.runtime import Runtime
from marketing_agent.engine.flow.control import FlowControl
from marketing_agent.engine.functions.registry import Registry
from marketing_agent.engine.store import Store
from unit.engine_flow.harness import FakeClock, Flow


@pytest.fixture
async def flow(database_url: str) -> AsyncIterator[Flow]:
    clock = FakeClock()
    store = await Store.open(database_url)
    registry = Registry(store)
    gate = FlowControl(clock=clock)
    runtime = Runtime(EngineConfig(database_url=database_url), store, registry, start_gate=gate, claim_gate=gate)
    try:
        yield Flow(store=store, runtime=runtime, gate=gate, clock=clock, registry=registry)
    finally:
        await store.close()
