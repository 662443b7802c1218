"""step.sleep / sleep_until: the run waits (holding no worker) and resumes after the wake time."""

from __future__ import annotations

import datetime
import time

import inngest

from integration.engine.harness import engine_and_app


def build(client: inngest.Inngest) -> list[inngest.Function[object]]:
    @client.create_function(fn_id="sleeper", trigger=inngest.TriggerEvent(event="t/sleep"))
    async def sleeper(ctx: inngest.Context) -> str:
        await ctx.step.sleep("nap", datetime.timedelta(seconds=1))
        until = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=1)
        await ctx.step.sleep_until("until", until)
        return "awake"

    return [sleeper]


def test_sleep(database_url: str) -> None:
    with engine_and_app(database_url, "sleep-app", build) as (engine, _):
        start = time.monotonic()
        run = engine.run_for("t/sleep")
        assert run["status"] == "COMPLETED"
        assert run["output"] == '"awake"'
        assert time.monotonic() - start >= 1.9
        ops = [(s["name"], s["op"], s["status"]) for s in run["steps"]]
        assert ops == [("nap", "Sleep", "completed"), ("until", "Sleep", "completed")]
