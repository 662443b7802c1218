"""step.invoke: a child run; its result (or a failure, or a timeout) goes back to the parent."""

from __future__ import annotations

import datetime
import json

import inngest

from integration.engine.harness import engine_and_app


def build(client: inngest.Inngest) -> list[inngest.Function[object]]:
    @client.create_function(fn_id="child", retries=0, trigger=inngest.TriggerEvent(event="t/never"))
    async def child(ctx: inngest.Context) -> object:
        if ctx.event.data.get("fail"):
            raise ValueError("child failed")
        if ctx.event.data.get("slow"):
            await ctx.step.sleep("slow", datetime.timedelta(seconds=3))
        return {"doubled": ctx.event.data["n"] * 2}

    @client.create_function(fn_id="parent", retries=0, trigger=inngest.TriggerEvent(event="t/parent"))
    async def parent(ctx: inngest.Context) -> object:
        try:
            return await ctx.step.invoke(
                "call-child", function=child, data=dict(ctx.event.data), timeout=datetime.timedelta(seconds=1)
            )
        except inngest.StepError as err:
            return {"error": err.name, "message": err.message}

    return [child, parent]


def test_invoke(database_url: str) -> None:
    with engine_and_app(database_url, "invoke-app", build) as (engine, _):
        run = engine.run_for("t/parent", {"n": 21})
        assert run["status"] == "COMPLETED"
        assert json.loads(run["output"]) == {"doubled": 42}

        run = engine.run_for("t/parent", {"n": 1, "fail": True})
        assert json.loads(run["output"]) == {"error": "ValueError", "message": "child failed"}

        run = engine.run_for("t/parent", {"n": 1, "slow": True})
        assert json.loads(run["output"])["error"] == "InngestInvokeTimeoutError"
