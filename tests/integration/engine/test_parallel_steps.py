"""Parallel steps (group.parallel): planned steps are called once each, de-duplicated, then the run goes on."""

from __future__ import annotations

import json
from collections import Counter

import inngest

from integration.engine.harness import engine_and_app

calls: Counter[str] = Counter()


def build(client: inngest.Inngest) -> list[inngest.Function[object]]:
    @client.create_function(fn_id="fan-out", trigger=inngest.TriggerEvent(event="t/parallel"))
    async def fan_out(ctx: inngest.Context) -> object:
        def part(name: str) -> object:
            async def run() -> str:
                calls[f"{ctx.run_id}:{name}"] += 1
                return name.upper()

            return lambda: ctx.step.run(name, run)

        results = await ctx.group.parallel(tuple(part(n) for n in ("a", "b", "c")))
        after = await ctx.step.run("after", lambda: "done")
        return {"results": list(results), "after": after}

    return [fan_out]


def test_parallel(database_url: str) -> None:
    with engine_and_app(database_url, "parallel-app", build) as (engine, _):
        run = engine.run_for("t/parallel")
        assert run["status"] == "COMPLETED", run
        assert json.loads(run["output"]) == {"results": ["A", "B", "C"], "after": "done"}
        assert all(calls[f"{run['id']}:{n}"] == 1 for n in "abc")
        assert sorted(s["name"] for s in run["steps"]) == ["a", "after", "b", "c"]
