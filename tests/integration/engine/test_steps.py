"""Sequential steps: memoized outputs, each step executed once, output and step detail recorded."""

from __future__ import annotations

from collections import Counter
from typing import Any

import inngest
import pytest

from integration.engine.harness import engine_and_app
from marketing_agent.engine.store import CallState, Store

calls: Counter[str] = Counter()


def build(client: inngest.Inngest) -> list[inngest.Function[object]]:
    @client.create_function(fn_id="pipeline", trigger=inngest.TriggerEvent(event="t/steps"))
    async def pipeline(ctx: inngest.Context) -> dict[str, object]:
        total = 0
        for i in range(3):

            async def step(i: int = i) -> int:
                calls[f"{ctx.run_id}:{i}"] += 1
                return i * 10

            total += await ctx.step.run(f"s{i}", step)
        return {"total": total, "name": ctx.event.data["name"]}

    return [pipeline]


def test_steps_run_once_and_complete(database_url: str) -> None:
    with engine_and_app(database_url, "steps-app", build) as (engine, _):
        run = engine.run_for("t/steps", {"name": "x"})
        assert run["status"] == "COMPLETED", run
        assert run["output"] == '{"total": 30, "name": "x"}'
        assert [s["name"] for s in run["steps"]] == ["s0", "s1", "s2"]
        assert [s["memo"] for s in run["steps"]] == [{"data": 0}, {"data": 10}, {"data": 20}]
        assert all(calls[f"{run['id']}:{i}"] == 1 for i in range(3))
        assert len(run["attempts"]) == 4  # 3 steps + the final call


def test_a_sequential_run_reads_its_call_state_once(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hot path: each step's write hands the next call what it needs, so only the first call reads."""
    reads: Counter[str] = Counter()
    original = Store.load_call_state

    async def counting(self: Store, run_id: str) -> CallState | None:
        reads[run_id] += 1
        return await original(self, run_id)

    monkeypatch.setattr(Store, "load_call_state", counting)
    with engine_and_app(database_url, "steps-app", build) as (engine, _):
        run: dict[str, Any] = engine.run_for("t/steps", {"name": "y"})
        assert run["status"] == "COMPLETED", run
        assert run["output"] == '{"total": 30, "name": "y"}'
        assert all(calls[f"{run['id']}:{i}"] == 1 for i in range(3))
        assert reads[run["id"]] == 1
