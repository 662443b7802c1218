"""on_failure handlers run on ``inngest/function.failed``; ``inngest/function.finished`` is emitted."""

from __future__ import annotations

import inngest

from integration.engine.harness import engine_and_app

seen: dict[str, object] = {}


def build(client: inngest.Inngest) -> list[inngest.Function[object]]:
    async def on_failure(ctx: inngest.Context) -> str:
        seen["error"] = ctx.event.data["error"]
        seen["original"] = ctx.event.data["event"]
        seen["run_id"] = ctx.event.data["run_id"]
        return "handled"

    @client.create_function(
        fn_id="primary", retries=0, on_failure=on_failure, trigger=inngest.TriggerEvent(event="t/primary")
    )
    async def primary(ctx: inngest.Context) -> None:
        raise ValueError("primary failed")

    @client.create_function(fn_id="watcher", trigger=inngest.TriggerEvent(event="inngest/function.finished"))
    async def watcher(ctx: inngest.Context) -> None:
        seen.setdefault("finished", []).append(ctx.event.data["function_id"])  # type: ignore[union-attr]

    return [primary, watcher]


def test_on_failure(database_url: str) -> None:
    with engine_and_app(database_url, "fail-app", build) as (engine, _):
        run = engine.run_for("t/primary", {"k": 1})
        assert run["status"] == "FAILED"
        handler_runs = engine.http.get("/v1/runs", params={"function_id": "fail-app-primary-failure"}).json()["data"]
        assert len(handler_runs) == 1
        handler = engine.wait_run(handler_runs[0]["id"])
        assert handler["status"] == "COMPLETED"
        assert handler["output"] == '"handled"'
        assert seen["run_id"] == run["id"]
        assert seen["original"]["data"] == {"k": 1}  # type: ignore[index]
        assert seen["error"]["message"] == "primary failed"  # type: ignore[index]
        assert seen["error"]["name"] == "ValueError"  # type: ignore[index]
        finished = engine.http.get("/v1/events", params={"name": "inngest/function.finished"}).json()["data"]
        assert any(e["payload"]["data"]["run_id"] == run["id"] for e in finished)
