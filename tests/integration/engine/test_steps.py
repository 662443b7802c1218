"""Sequential steps: memoized outputs, each step executed once, output and step detail recorded."""

from __future__ import annotations

from collections import Counter

import inngest

from integration.engine.harness import engine_and_app

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
