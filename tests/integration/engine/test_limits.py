"""Limits: a step output over the limit, or more steps than allowed, fails the run with a clear error."""

from __future__ import annotations

import json

import inngest

from integration.engine.harness import engine_and_app


def build(client: inngest.Inngest) -> list[inngest.Function[object]]:
    @client.create_function(fn_id="big-output", retries=0, trigger=inngest.TriggerEvent(event="t/big"))
    async def big_output(ctx: inngest.Context) -> None:
        await ctx.step.run("huge", lambda: "x" * 5000)

    @client.create_function(fn_id="many-steps", retries=0, trigger=inngest.TriggerEvent(event="t/many"))
    async def many_steps(ctx: inngest.Context) -> None:
        for i in range(10):
            await ctx.step.run(f"s{i}", lambda: 1)

    return [big_output, many_steps]


def test_limits(database_url: str) -> None:
    with engine_and_app(database_url, "limits-app", build, max_step_output_bytes=1000, max_steps_per_run=5) as (
        engine,
        _,
    ):
        run = engine.run_for("t/big")
        assert run["status"] == "FAILED"
        err = json.loads(run["output"])
        assert err["name"] == "OutputTooLarge"
        assert "limit is 1000" in err["message"]

        run = engine.run_for("t/many")
        assert run["status"] == "FAILED"
        assert json.loads(run["output"])["name"] == "StepLimitExceeded"
