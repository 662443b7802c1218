"""wait_for_event: matched by name and CEL ``if`` (only events sent after the wait began); timeout → None."""

from __future__ import annotations

import datetime
import time

import inngest

from integration.engine.harness import engine_and_app


def build(client: inngest.Inngest) -> list[inngest.Function[object]]:
    @client.create_function(fn_id="waiter", trigger=inngest.TriggerEvent(event="t/wait"))
    async def waiter(ctx: inngest.Context) -> object:
        ev = await ctx.step.wait_for_event(
            "approval", event="t/approved", if_exp="async.data.id == event.data.id",
            timeout=datetime.timedelta(seconds=ctx.event.data["timeout"]),
        )  # fmt: skip
        return None if ev is None else ev.data

    return [waiter]


def test_wait_fulfilled_and_timeout(database_url: str) -> None:
    with engine_and_app(database_url, "wait-app", build) as (engine, _):
        engine.send("t/approved", {"id": 1, "early": True})  # before the wait: must not match
        event_id = engine.send("t/wait", {"id": 1, "timeout": 30})
        (run,) = engine.runs_of_event(event_id)
        deadline = time.monotonic() + 10
        while engine.run(run["id"])["steps"] == [] and time.monotonic() < deadline:
            time.sleep(0.05)
        engine.send("t/approved", {"id": 2})  # wrong id
        engine.send("t/approved", {"id": 1, "ok": True})
        done = engine.wait_run(run["id"])
        assert done["status"] == "COMPLETED"
        assert done["output"] == '{"id": 1, "ok": true}'

        timed_out = engine.run_for("t/wait", {"id": 9, "timeout": 1})
        assert timed_out["status"] == "COMPLETED"
        assert timed_out["output"] == "null"
