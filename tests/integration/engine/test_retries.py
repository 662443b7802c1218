"""Retries: a failing step is retried with the function's ``retries``; NonRetriableError fails at once;
RetryAfterError sets the delay; exhausted retries fail the run with the error as output."""

from __future__ import annotations

import json
import time
from collections import Counter

import inngest

from integration.engine.harness import engine_and_app

attempts: Counter[str] = Counter()
retry_after_times: dict[str, list[float]] = {}


def build(client: inngest.Inngest) -> list[inngest.Function[object]]:
    @client.create_function(fn_id="flaky", retries=3, trigger=inngest.TriggerEvent(event="t/flaky"))
    async def flaky(ctx: inngest.Context) -> str:
        async def step() -> str:
            attempts[ctx.run_id] += 1
            if ctx.attempt < 2:
                raise ValueError(f"boom {ctx.attempt}")
            return "ok"

        return await ctx.step.run("flaky-step", step)

    @client.create_function(fn_id="always-fails", retries=1, trigger=inngest.TriggerEvent(event="t/fails"))
    async def always_fails(ctx: inngest.Context) -> None:
        attempts[ctx.run_id] += 1
        raise KeyError("bad key")

    @client.create_function(fn_id="non-retriable", retries=5, trigger=inngest.TriggerEvent(event="t/nonretry"))
    async def non_retriable(ctx: inngest.Context) -> None:
        attempts[ctx.run_id] += 1
        raise inngest.NonRetriableError("give up")

    @client.create_function(fn_id="retry-after", retries=2, trigger=inngest.TriggerEvent(event="t/retryafter"))
    async def retry_after(ctx: inngest.Context) -> str:
        retry_after_times.setdefault(ctx.run_id, []).append(time.monotonic())
        if ctx.attempt == 0:
            raise inngest.RetryAfterError("later", 1500)
        return "done"

    @client.create_function(fn_id="caught", retries=0, trigger=inngest.TriggerEvent(event="t/caught"))
    async def caught(ctx: inngest.Context) -> str:
        async def bad() -> None:
            raise ValueError("kaboom")

        try:
            await ctx.step.run("bad", bad)
        except inngest.StepError as err:
            return f"caught {err.name}: {err.message}"
        return "unreachable"

    return [flaky, always_fails, non_retriable, retry_after, caught]


def test_retries(database_url: str) -> None:
    with engine_and_app(database_url, "retry-app", build) as (engine, _):
        run = engine.run_for("t/flaky")
        assert run["status"] == "COMPLETED"
        assert run["output"] == '"ok"'
        assert attempts[run["id"]] == 3
        assert [a["outcome"] for a in run["attempts"]][:3] == ["error", "error", "step_completed"]

        run = engine.run_for("t/fails")
        assert run["status"] == "FAILED"
        assert attempts[run["id"]] == 2  # retries=1: two attempts
        out = json.loads(run["output"])
        assert out["name"] == "KeyError"
        assert out["code"] == "unknown"

        run = engine.run_for("t/nonretry")
        assert run["status"] == "FAILED"
        assert attempts[run["id"]] == 1
        assert json.loads(run["output"])["code"] == "non_retriable_error"

        run = engine.run_for("t/retryafter")
        assert run["status"] == "COMPLETED"
        first, second = retry_after_times[run["id"]]
        assert second - first >= 1.3

        run = engine.run_for("t/caught")
        assert run["status"] == "COMPLETED"
        assert run["output"] == '"caught ValueError: kaboom"'
