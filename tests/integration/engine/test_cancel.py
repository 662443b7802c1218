"""Cancellation by API and by ``cancel_on`` rules (CEL across event/async); takes effect between steps."""

from __future__ import annotations

import datetime
import time

import inngest

from integration.engine.harness import engine_and_app


def build(client: inngest.Inngest) -> list[inngest.Function[object]]:
    @client.create_function(
        fn_id="cancellable",
        cancel=[inngest.Cancel(event="t/stop", if_exp="async.data.id == event.data.id")],
        trigger=inngest.TriggerEvent(event="t/long"),
    )
    async def cancellable(ctx: inngest.Context) -> str:
        await ctx.step.sleep("wait", datetime.timedelta(seconds=30))
        return "not cancelled"

    return [cancellable]


def _wait_sleeping(engine: object, run_id: str) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        run = engine.run(run_id)  # type: ignore[attr-defined]
        if run["steps"] and run["steps"][0]["status"] == "sleeping":
            return
        time.sleep(0.05)
    raise AssertionError("run never started sleeping")


def test_cancel_by_event_and_api(database_url: str) -> None:
    with engine_and_app(database_url, "cancel-app", build) as (engine, _):
        a = engine.runs_of_event(engine.send("t/long", {"id": 1}))[0]["id"]
        b = engine.runs_of_event(engine.send("t/long", {"id": 2}))[0]["id"]
        _wait_sleeping(engine, a)
        _wait_sleeping(engine, b)
        engine.send("t/stop", {"id": 1})
        assert engine.wait_run(a)["status"] == "CANCELLED"
        assert engine.run(b)["status"] == "RUNNING"
        res = engine.http.post(f"/v1/runs/{b}/cancel")
        assert res.status_code == 200
        assert res.json()["data"]["cancelled"] is True
        assert engine.wait_run(b)["status"] == "CANCELLED"
        cancelled = engine.http.get("/v1/events", params={"name": "inngest/function.cancelled"}).json()["data"]
        assert {e["payload"]["data"]["run_id"] for e in cancelled} == {a, b}
