"""Bulk replay (``/v1/replays``): match failed runs by function, status, time and CEL filter, re-run them at a
rate, link each to its original, pause/resume/cancel, and refuse bad input with the field named."""

from __future__ import annotations

import time
from typing import Any

import inngest

from integration.engine.harness import EngineClient, engine_and_app

FN = "replay-app-dep"
#: While true, the function's dependency is "down" and every run fails (retries=0: at once).
state = {"down": True}


def build(client: inngest.Inngest) -> list[inngest.Function[Any]]:
    @client.create_function(fn_id="dep", retries=0, trigger=inngest.TriggerEvent(event="t/dep"))
    async def dep(ctx: inngest.Context) -> str:
        async def call() -> str:
            if state["down"]:
                raise RuntimeError("dependency is down")
            return f"ok {ctx.event.data['n']}"

        return await ctx.step.run("call", call)

    return [dep]


def wait_replay(engine: EngineClient, replay_id: str, status: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        replay: dict[str, Any] = engine.http.get(f"/v1/replays/{replay_id}").json()["data"]
        if replay["status"] == status:
            return replay
        assert time.monotonic() < deadline, f"replay still {replay['status']}: {replay['progress']}"
        time.sleep(0.05)


def fail_runs(engine: EngineClient, count: int) -> list[dict[str, Any]]:
    state["down"] = True
    ids = [engine.send("t/dep", {"n": i, "kind": "a" if i % 2 else "b"}) for i in range(count)]
    runs = [engine.wait_run(engine.runs_of_event(e)[0]["id"]) for e in ids]
    assert {r["status"] for r in runs} == {"FAILED"}
    return runs


def test_replay_reruns_the_matched_failures_and_links_them(database_url: str) -> None:
    with engine_and_app(database_url, "replay-app", build) as (engine, _):
        since = int(time.time() * 1000) - 1000
        failed = fail_runs(engine, 8)
        state["down"] = False
        body = {"function_id": FN, "statuses": ["failed"], "since": since, "filter": "event.data.kind == 'a'",
                "rate": 50}  # fmt: skip
        res = engine.http.post("/v1/replays", json=body)
        assert res.status_code == 201, res.text
        created = res.json()["data"]
        assert created["status"] == "RUNNING"
        assert (created["statuses"], created["filter"], created["rate"]) == (["FAILED"], "event.data.kind == 'a'", 50)
        assert created["progress"]["matched"] == 4

        done = wait_replay(engine, created["id"], "COMPLETED")
        assert done["progress"] == {"matched": 4, "started": 4, "done": 4, "completed": 4, "failed": 0, "skipped": 0}
        odd = {r["id"] for r in failed if r["events"][0]["data"]["kind"] == "a"}
        assert {p["original_run_id"] for p in done["runs"]} == odd
        for pair in done["runs"]:
            run = engine.run(pair["run_id"])
            assert run["status"] == "COMPLETED"
            assert run["rerun_of"] == pair["original_run_id"]
            assert run["events"][0]["data"]["kind"] == "a"
        # The originals keep their status; a second replay of the same range finds them again.
        assert engine.run(next(iter(odd)))["status"] == "FAILED"
        listed = engine.http.get("/v1/replays").json()["data"]
        assert [r["id"] for r in listed] == [created["id"]]

        # Nothing matches: the replay is created already completed.
        empty = engine.http.post("/v1/replays", json={**body, "since": since, "until": since + 1}).json()["data"]
        assert (empty["status"], empty["progress"]["matched"]) == ("COMPLETED", 0)


def test_pause_resume_and_cancel_hold_the_rate(database_url: str) -> None:
    with engine_and_app(database_url, "replay-app", build) as (engine, _):
        since = int(time.time() * 1000) - 1000
        fail_runs(engine, 6)
        state["down"] = False
        res = engine.http.post("/v1/replays", json={"function_id": FN, "since": since, "rate": 1})
        replay_id = res.json()["data"]["id"]
        paused = engine.http.post(f"/v1/replays/{replay_id}/pause").json()["data"]
        assert paused["status"] == "PAUSED"
        started = paused["progress"]["started"]
        assert started <= 1  # 1 per second: at most the first one before the pause
        time.sleep(1.2)
        assert engine.http.get(f"/v1/replays/{replay_id}").json()["data"]["progress"]["started"] == started
        assert engine.http.post(f"/v1/replays/{replay_id}/pause").json()["data"]["status"] == "PAUSED"  # idempotent

        t0 = time.monotonic()
        assert engine.http.post(f"/v1/replays/{replay_id}/resume").json()["data"]["status"] == "RUNNING"
        deadline = t0 + 10
        while engine.http.get(f"/v1/replays/{replay_id}").json()["data"]["progress"]["started"] < started + 2:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert time.monotonic() - t0 >= 0.9  # two runs at 1/s: the second a second after the first
        cancelled = engine.http.post(f"/v1/replays/{replay_id}/cancel").json()["data"]
        assert cancelled["status"] == "CANCELLED"
        assert cancelled["ended_at"] is not None
        time.sleep(0.8)
        later = engine.http.get(f"/v1/replays/{replay_id}").json()["data"]
        assert later["progress"]["started"] == cancelled["progress"]["started"] < 6
        conflict = engine.http.post(f"/v1/replays/{replay_id}/resume")
        assert conflict.status_code == 409
        assert "CANCELLED" in conflict.json()["error"]


def test_bad_replay_requests_name_the_field(database_url: str) -> None:
    with engine_and_app(database_url, "replay-app", build) as (engine, _):
        base = {"function_id": FN, "since": "2026-01-01T00:00:00Z"}
        cases = [
            ({**base, "function_id": ""}, 400, "function_id"),
            ({**base, "statuses": ["COMPLETED"]}, 400, "statuses"),
            ({**base, "statuses": []}, 400, "statuses"),
            ({"function_id": FN}, 400, "since"),
            ({**base, "since": "yesterday"}, 400, "since"),
            ({**base, "until": "2025-01-01T00:00:00Z"}, 400, "until"),
            ({**base, "rate": 0}, 400, "rate"),
            ({**base, "rate": "fast"}, 400, "rate"),
            ({**base, "filter": "event.data.kind =="}, 400, "filter"),
            ({**base, "function_id": "nope"}, 404, "nope"),
        ]
        for body, status, word in cases:
            res = engine.http.post("/v1/replays", json=body)
            assert res.status_code == status, (body, res.text)
            assert word in res.json()["error"], (body, res.text)
        assert engine.http.get("/v1/replays/01NOPE").status_code == 404
        assert engine.http.post("/v1/replays/01NOPE/pause").status_code == 404
        assert engine.http.post("/v1/replays/01NOPE/explode").status_code == 404
