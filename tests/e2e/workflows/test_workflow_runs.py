"""A workflow through the API, the engine (``workflow-run`` invoking ``skill-execute``) and the fakes."""

from __future__ import annotations

import json
from datetime import datetime

import httpx

from marketing_agent.services import create_user
from support.agent_system import AgentSystem
from support.fake_llm_server import FakeReply

from .conftest import CHAT, stage_of, start_workflow, wait_workflow


def _prompt(request_json: object) -> str:
    return json.dumps(request_json)


async def test_approve_revise_approve_completes_with_every_output(system: AgentSystem) -> None:
    wr = await start_workflow(system, "review-chain", {"product": "Acme CI"})

    run = await wait_workflow(system, wr, stage="draft", status="awaiting_review")
    assert run["status"] == "awaiting_review"
    review = await system.telegram.await_call(
        "sendMessage", lambda c: int(c.params["chat_id"]) == CHAT and "draft" in str(c.params["text"])
    )
    buttons = [b["text"] for b in review.params["reply_markup"]["inline_keyboard"][0]]
    assert buttons == ["Approve", "Revise", "Reject"]
    too_early = await system.api.post(f"/workflow-runs/{wr}/stages/rewrite/review", json={"decision": "approve"})
    assert too_early.status_code == 409, too_early.text
    approved = await system.api.post(f"/workflow-runs/{wr}/stages/draft/review", json={"decision": "approve"})
    assert approved.status_code == 202, approved.text

    run = await wait_workflow(system, wr, stage="rewrite", status="awaiting_review")
    system.llm.enqueue(FakeReply(text="# Homepage v2\n\nShip faster, sleep better.\n"))
    revise = {"decision": "revise", "notes": "Mention that it is open source."}
    assert (await system.api.post(f"/workflow-runs/{wr}/stages/rewrite/review", json=revise)).status_code == 202
    again = await system.api.post(f"/workflow-runs/{wr}/stages/rewrite/review", json={"decision": "approve"})
    assert again.status_code in {409, 202}  # 409 unless the re-run already awaits review again
    run = await wait_workflow(system, wr, stage="rewrite", status="awaiting_review")
    if again.status_code == 409:
        assert (
            await system.api.post(f"/workflow-runs/{wr}/stages/rewrite/review", json={"decision": "approve"})
        ).status_code == 202

    run = await wait_workflow(system, wr, status="completed")
    assert [(s["name"], s["status"], s["revisions"], len(s["runIds"])) for s in run["stages"]] == [
        ("draft", "approved", 0, 1),
        ("rewrite", "approved", 1, 2),
        ("polish", "completed", 0, 1),
    ]
    # Three skill runs plus one re-run, each completed with its own stored output.
    run_ids = [r for s in run["stages"] for r in s["runIds"]]
    outputs = set()
    for run_id in run_ids:
        skill_run = await system.wait_run(run_id)
        assert skill_run["status"] == "completed", skill_run
        outputs.add(skill_run["output"]["id"])
        content = await system.api.get(f"/outputs/{skill_run['output']['id']}/content")
        assert content.status_code == 200
    assert len(outputs) == 4
    assert stage_of(run, "rewrite")["outputId"] == (await system.wait_run(run_ids[2]))["output"]["id"]
    assert len(system.llm.requests) == 4
    # The re-run got the notes and the previous draft; the last stage got the revised draft as context.
    revision_prompt = _prompt(system.llm.requests[2].json)
    assert "Mention that it is open source." in revision_prompt
    assert "Ship faster with Acme." in revision_prompt
    assert "Ship faster, sleep better." in _prompt(system.llm.requests[3].json)
    assert "Homepage v2" in _prompt(system.llm.requests[3].json)  # {{ stages.rewrite.title }}
    # One summary at the end linking every stage's output; no per-stage "run completed" messages.
    summary = await system.telegram.await_call(
        "sendMessage", lambda c: int(c.params["chat_id"]) == CHAT and "review-chain completed" in str(c.params["text"])
    )
    for state in run["stages"]:
        assert state["outputId"] in str(summary.params["text"])
    listed = (await system.api.get("/workflow-runs")).json()["data"]
    assert listed["total"] == 1
    assert listed["workflowRuns"][0]["id"] == wr


async def test_reject_ends_the_workflow_rejected(system: AgentSystem) -> None:
    wr = await start_workflow(system, "review-chain", {"product": "Acme CI"})
    await wait_workflow(system, wr, stage="draft", status="awaiting_review")
    rejected = await system.api.post(
        f"/workflow-runs/{wr}/stages/draft/review", json={"decision": "reject", "notes": "Wrong market."}
    )
    assert rejected.status_code == 202, rejected.text
    run = await wait_workflow(system, wr, stage="rewrite", status="skipped")
    assert run["status"] == "rejected"
    assert stage_of(run, "draft")["status"] == "rejected"
    assert stage_of(run, "polish")["status"] == "skipped"
    await system.telegram.await_call("sendMessage", lambda c: "review-chain rejected" in str(c.params["text"]))
    [engine_run] = await system.wait_engine_runs("workflow-run")
    assert engine_run["status"] == "COMPLETED"
    assert len(system.llm.requests) == 1
    late = await system.api.post(f"/workflow-runs/{wr}/stages/draft/review", json={"decision": "approve"})
    assert late.status_code == 409


async def test_an_unreviewed_stage_expires_the_workflow(system: AgentSystem) -> None:
    wr = await start_workflow(system, "quick-timeout")
    await wait_workflow(system, wr, stage="only", status="awaiting_review")
    run = await wait_workflow(system, wr, status="expired", timeout=20)
    assert stage_of(run, "only")["status"] == "skipped"
    assert "not reviewed in time" in run["errorMessage"]
    await system.telegram.await_call("sendMessage", lambda c: "quick-timeout expired" in str(c.params["text"]))


async def test_independent_stages_run_in_parallel(system: AgentSystem) -> None:
    system.llm.enqueue(FakeReply(delay=1.0, text="# Left\n\nL."), FakeReply(delay=1.0, text="# Right\n\nR."))
    wr = await start_workflow(system, "diamond", {"product": "Acme CI"})
    run = await wait_workflow(system, wr, status="completed")
    left, right, join = [await system.wait_run(stage_of(run, n)["runIds"][0]) for n in ("left", "right", "join")]
    stamp = datetime.fromisoformat
    # Each of the first two started before the other finished: they ran side by side.
    assert stamp(left["startedAt"]) < stamp(right["completedAt"])
    assert stamp(right["startedAt"]) < stamp(left["completedAt"])
    assert stamp(join["startedAt"]) >= max(stamp(left["completedAt"]), stamp(right["completedAt"]))
    join_prompt = _prompt(system.llm.requests[2].json)
    assert "L." in join_prompt
    assert "R." in join_prompt


async def test_cancel_stops_a_waiting_workflow(system: AgentSystem) -> None:
    wr = await start_workflow(system, "review-chain", {"product": "Acme CI"})
    await wait_workflow(system, wr, stage="draft", status="awaiting_review")
    cancelled = await system.api.post(f"/workflow-runs/{wr}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    run = cancelled.json()["data"]
    assert run["status"] == "cancelled"
    assert {s["status"] for s in run["stages"]} == {"skipped"}
    assert (await system.api.post(f"/workflow-runs/{wr}/cancel")).status_code == 409
    [engine_run] = await system.wait_engine_runs("workflow-run")
    assert engine_run["status"] == "CANCELLED"


async def test_bad_input_and_other_users_ids(system: AgentSystem) -> None:
    missing = await system.api.post("/workflows/review-chain/runs", json={"inputs": {}})
    assert missing.status_code == 422
    assert missing.json()["error"]["details"][0]["field"] == "inputs.product"
    unknown = await system.api.post("/workflows/review-chain/runs", json={"inputs": {"product": "x", "colour": "red"}})
    assert unknown.status_code == 422
    assert (await system.api.post("/workflows/no-such-flow/runs", json={"inputs": {}})).status_code == 404
    bad = await system.api.post("/workflow-runs/00000000-0000-4000-8000-000000000000/stages/draft/review", json={})
    assert bad.status_code == 422  # decision is required

    wr = await start_workflow(system, "review-chain", {"product": "Acme CI"})
    await wait_workflow(system, wr, stage="draft", status="awaiting_review")
    other_key = (await create_user(system.database, "other@example.com")).api_key
    async with httpx.AsyncClient(
        base_url=str(system.api.base_url), headers={"Authorization": f"Bearer {other_key}"}, timeout=30
    ) as other:
        assert (await other.get(f"/workflow-runs/{wr}")).status_code == 404
        review = await other.post(f"/workflow-runs/{wr}/stages/draft/review", json={"decision": "approve"})
        assert review.status_code == 404
        assert (await other.post(f"/workflow-runs/{wr}/cancel")).status_code == 404
        assert (await other.get("/workflow-runs")).json()["data"]["total"] == 0
    still = await wait_workflow(system, wr, stage="draft", status="awaiting_review")
    assert still["status"] == "awaiting_review"
