"""Inspection: the /v1 JSON API (apps, functions, runs, run detail, events, rerun) and the /v0/gql subset
that inngest-py's test helpers query."""

from __future__ import annotations

import contextlib
import json

import inngest

from integration.engine.harness import engine_and_app


def build(client: inngest.Inngest) -> list[inngest.Function[object]]:
    @client.create_function(fn_id="inspect", retries=0, trigger=inngest.TriggerEvent(event="t/inspect"))
    async def inspect_fn(ctx: inngest.Context) -> str:
        await ctx.step.run("first", lambda: {"foo": [1, 2]})

        async def bad() -> None:
            raise ValueError("nope")

        with contextlib.suppress(inngest.StepError):
            await ctx.step.run("second", bad)
        return "ok"

    return [inspect_fn]


RUN_QUERY = """
query GetRun($run_id: String!) {
  run(runID: $run_id) { output status trace { childrenSpans { name outputID } } }
  runTrigger(runID: $run_id) { payloads }
}"""
OUTPUT_QUERY = """
query GetHistory($output_id: String!) {
  runTraceSpanOutputByID(outputID: $output_id) { data error { message name stack } }
}"""
EVENT_QUERY = """
query GetRunFromEventID($event_id: ID!) { event(query: {eventId: $event_id}) { functionRuns { id } } }"""


def _gql(engine: object, query: str, variables: dict[str, object]) -> dict[str, object]:
    res = engine.http.post("/v0/gql", json={"query": query, "variables": variables})  # type: ignore[attr-defined]
    assert res.status_code == 200, res.text
    body = res.json()
    assert body.get("errors") is None, body
    return dict(body["data"])


def test_v1_and_gql(database_url: str) -> None:
    with engine_and_app(database_url, "inspect-app", build) as (engine, _):
        event_id = engine.send("t/inspect", {"x": 1})
        run_id = engine.runs_of_event(event_id)[0]["id"]
        run = engine.wait_run(run_id)
        assert run["status"] == "COMPLETED"

        apps = engine.http.get("/v1/apps").json()["data"]
        assert [a["id"] for a in apps] == ["inspect-app"]
        assert apps[0]["function_count"] == 1
        fns = engine.http.get("/v1/functions").json()["data"]
        assert fns[0]["config"]["triggers"] == [{"event": "t/inspect"}]
        runs = engine.http.get("/v1/runs", params={"status": "COMPLETED", "function_id": "inspect-app-inspect"})
        assert [r["id"] for r in runs.json()["data"]] == [run_id]
        assert engine.http.get("/v1/runs", params={"status": "BOGUS"}).status_code == 400
        event = engine.http.get(f"/v1/events/{event_id}").json()["data"]
        assert event["payload"]["data"] == {"x": 1}
        assert [r["id"] for r in event["runs"]] == [run_id]
        steps = {s["name"]: s for s in run["steps"]}
        assert steps["second"]["status"] == "failed"
        assert steps["second"]["memo"]["error"]["message"] == "nope"
        assert all(a["started_at"] <= a["ended_at"] for a in run["attempts"])

        data = _gql(engine, RUN_QUERY, {"run_id": run_id})
        assert data["run"]["status"] == "COMPLETED"
        assert data["run"]["output"] == '"ok"'
        assert json.loads(data["runTrigger"]["payloads"][0])["data"] == {"x": 1}  # type: ignore[index]
        spans = data["run"]["trace"]["childrenSpans"]  # type: ignore[index]
        assert [s["name"] for s in spans] == ["first", "second"]
        first = _gql(engine, OUTPUT_QUERY, {"output_id": spans[0]["outputID"]})["runTraceSpanOutputByID"]
        assert json.loads(first["data"]) == {"foo": [1, 2]}
        assert first["error"] is None
        second = _gql(engine, OUTPUT_QUERY, {"output_id": spans[1]["outputID"]})["runTraceSpanOutputByID"]
        assert second["error"]["message"] == "nope"  # type: ignore[index]
        by_event = _gql(engine, EVENT_QUERY, {"event_id": event_id})
        assert by_event["event"]["functionRuns"] == [{"id": run_id}]  # type: ignore[index]

        rerun = engine.http.post(f"/v1/runs/{run_id}/rerun")
        assert rerun.status_code == 201
        again = engine.wait_run(rerun.json()["data"]["run_id"])
        assert again["status"] == "COMPLETED"
        assert again["rerun_of"] == run_id
