"""skill-execute through ``inngest.experimental.mocked``: steps, idempotency and every failure path."""

from __future__ import annotations

import asyncio
from typing import Any

import inngest
from inngest.experimental import mocked

from marketing_agent.errors import ClientContextMissing, LLMFatalError, LLMRateLimited, SkillNotFound
from marketing_agent.functions import SkillOutcome
from marketing_agent.functions.skill_execute import build_on_failure
from support.function_fakes import FakeRun, Harness

OUTCOME = SkillOutcome(
    output="# Homepage\n\nClear copy.",
    title="Homepage copy",
    tokens_in=120,
    tokens_out=40,
    cost_usd=0.0012,
    model="claude-test",
    warnings=("missing section: CTA",),
)
EVENT_TS = 1_795_000_000_000  # 2026-11-18 (UTC)


def start(h: Harness, run_id: str = "r1", **data: Any) -> Any:
    h.services.runs.setdefault(run_id, FakeRun(user_id="u1", skill_name="copywriting"))
    payload = {"runId": run_id, "skillName": "copywriting", "userMessage": "Write it", "userId": "u1", **data}
    return h.trigger("skill-execute", "skill.execute", payload, ts=EVENT_TS)


def test_happy_path_runs_every_step_and_emits_completion(harness: Harness) -> None:
    harness.executor.script = [OUTCOME]
    harness.services.client_slugs["c1"] = "acme"

    result = start(harness, clientId="c1", options={"tone": "plain"})

    assert result.status is mocked.Status.COMPLETED, result.error
    key = "outputs/copywriting/acme/2026-11-18-r1.md"
    assert result.output == {
        "success": True,
        "runId": "r1",
        "outputId": "out-r1",
        "s3Key": key,
        "tokensUsed": 160,
    }
    assert harness.run(harness.store.get(key)) == OUTCOME.output.encode()
    assert harness.executor.calls == [("copywriting", "Write it", "acme", {"tone": "plain"})]
    run = harness.services.runs["r1"]
    assert run.status == "completed"
    assert run.outcome == OUTCOME  # tokens, cost, model and warnings reach the run
    [completed] = harness.sent_named("skill.execute.completed")
    assert dict(completed.data) == {"runId": "r1", "outputId": "out-r1", "s3Key": key}
    assert completed.id == "r1-completed"
    assert harness.sent_named("skill.execute.failed") == []


def test_steps_run_in_the_seed_order_once_each(harness: Harness) -> None:
    harness.executor.script = [OUTCOME]
    start(harness)
    names = [name for name, _ in harness.services.calls]
    assert names == ["mark_run_running", "record_output", "mark_run_completed"]


def test_no_client_uses_the_none_segment(harness: Harness) -> None:
    harness.executor.script = [OUTCOME]
    result = start(harness)
    assert result.output["s3Key"] == "outputs/copywriting/_none/2026-11-18-r1.md"
    assert harness.executor.calls[0][2] is None


def test_replaying_the_same_run_creates_no_second_output(harness: Harness) -> None:
    harness.executor.script = [OUTCOME]
    first = start(harness)
    harness.services.runs["r1"].status = "running"  # as if the first attempt crashed before completing
    second = start(harness)
    assert first.output["s3Key"] == second.output["s3Key"]
    assert len(harness.services.outputs) == 1
    assert len(harness.run(harness.store.list("outputs/"))) == 1


def test_retryable_error_raises_so_the_step_is_retried(harness: Harness) -> None:
    harness.executor.script = [LLMRateLimited("429"), LLMRateLimited("429"), OUTCOME]
    result = start(harness)
    assert result.status is mocked.Status.COMPLETED
    assert len(harness.executor.calls) == 3
    assert harness.services.runs["r1"].status == "completed"
    assert len(harness.sent_named("skill.execute.completed")) == 1


def test_retryable_error_forever_fails_the_function_for_on_failure(harness: Harness) -> None:
    harness.executor.script = [LLMRateLimited("overloaded")]
    result = start(harness)
    assert result.status is mocked.Status.FAILED
    assert len(harness.executor.calls) == 4  # retries=3: four attempts in all
    # The main function leaves the failure to on_failure (tested below): nothing recorded here.
    assert harness.services.runs["r1"].status == "running"
    assert harness.sent_named("skill.execute.failed") == []


def _assert_failed_at_once(h: Harness, result: Any, code: str, text: str) -> None:
    assert result.status is mocked.Status.COMPLETED  # ended on purpose; not retried, no on_failure
    assert result.output["success"] is False
    assert result.output["code"] == code
    run = h.services.runs["r1"]
    assert run.status == "failed"
    assert run.error is not None
    assert text in run.error
    [failed] = h.sent_named("skill.execute.failed")
    assert failed.data["runId"] == "r1"
    assert failed.data["retryable"] is False
    assert text in str(failed.data["error"])
    assert failed.id == "r1-failed"
    assert h.sent_named("skill.execute.completed") == []
    assert h.services.outputs == {}


def test_fatal_llm_error_fails_at_once_with_failed_event(harness: Harness) -> None:
    harness.executor.script = [LLMFatalError("400 bad request", status=400)]
    result = start(harness)
    _assert_failed_at_once(harness, result, "LLM_FATAL", "400 bad request")
    assert len(harness.executor.calls) == 1


def test_missing_client_context_fails_at_once(harness: Harness) -> None:
    harness.services.client_slugs["c1"] = "acme"
    harness.executor.script = [ClientContextMissing("client acme has no profile.md")]
    result = start(harness, clientId="c1")
    _assert_failed_at_once(harness, result, "CLIENT_CONTEXT_MISSING", "profile.md")


def test_unknown_skill_fails_at_once(harness: Harness) -> None:
    harness.executor.script = [SkillNotFound("skill 'nope' not found")]
    result = start(harness)
    _assert_failed_at_once(harness, result, "SKILL_NOT_FOUND", "nope")


def test_deleted_client_fails_before_the_llm_is_called(harness: Harness) -> None:
    result = start(harness, clientId="gone")
    _assert_failed_at_once(harness, result, "CLIENT_NOT_FOUND", "gone")
    assert harness.executor.calls == []


def test_cancelled_run_is_never_resurrected(harness: Harness) -> None:
    harness.executor.script = [OUTCOME]
    harness.services.runs["r1"] = FakeRun(user_id="u1", skill_name="copywriting", status="cancelled")
    result = start(harness)
    assert result.output == {"success": False, "runId": "r1", "skipped": True}
    assert harness.services.runs["r1"].status == "cancelled"
    assert harness.executor.calls == []
    assert harness.client.sent == []


def test_on_failure_marks_the_run_failed_and_emits_the_failed_event(harness: Harness) -> None:
    harness.services.runs["r1"] = FakeRun(user_id="u1", skill_name="copywriting", status="running")
    deps_handler = build_on_failure(harness.functions_deps)
    handler_fn = harness.client.create_function(
        fn_id="on-failure-under-test", trigger=inngest.TriggerEvent(event="inngest/function.failed")
    )(deps_handler)
    failure = inngest.Event(
        name="inngest/function.failed",
        data={
            "function_id": "marketing-agent-skill-execute",
            "run_id": "01ENGINE",
            "error": {"name": "LLMOverloaded", "message": "overloaded (529)", "error": "LLMOverloaded"},
            "event": {
                "name": "skill.execute",
                "data": {"runId": "r1", "skillName": "copywriting", "userMessage": "m", "userId": "u1"},
            },
        },
    )
    result = mocked.trigger(handler_fn, failure, harness.client)
    assert result.status is mocked.Status.COMPLETED, result.error
    assert result.output == {"handled": True, "runId": "r1", "error": "overloaded (529)"}
    assert harness.services.runs["r1"].status == "failed"
    assert harness.services.runs["r1"].error == "overloaded (529)"
    [failed] = harness.sent_named("skill.execute.failed")
    assert dict(failed.data) == {"runId": "r1", "error": "overloaded (529)", "retryable": False}


def test_registered_config_has_retries_throttle_and_on_failure(harness: Harness) -> None:
    config = harness.functions["skill-execute"].get_config("http://app/api/inngest")
    main = config.main.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert main["id"] == "marketing-agent-skill-execute"
    assert main["steps"]["step"]["retries"] == {"attempts": 3}
    assert main["throttle"] == {"key": "event.data.userId", "limit": 10, "period": "1m", "burst": 1}
    assert main["triggers"] == [{"event": "skill.execute"}]
    assert config.on_failure is not None
    failure = config.on_failure.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert failure["triggers"][0]["event"] == "inngest/function.failed"


def test_unknown_run_is_skipped(harness: Harness) -> None:
    harness.executor.script = [OUTCOME]
    payload = {"runId": "ghost", "skillName": "copywriting", "userMessage": "m", "userId": "u1"}
    result = harness.trigger("skill-execute", "skill.execute", payload)
    assert result.output == {"success": False, "runId": "ghost", "skipped": True}
    assert harness.executor.calls == []


def test_run_cancelled_during_execution_is_not_announced_as_failed(harness: Harness) -> None:
    def cancel_then_fail(*_: object) -> None:
        harness.services.runs["r1"].status = "cancelled"
        raise LLMFatalError("400 bad request", status=400)

    harness.executor.script = [OUTCOME]
    harness.executor.before_call = cancel_then_fail
    result = start(harness)
    assert result.output["success"] is False
    assert harness.services.runs["r1"].status == "cancelled"
    assert harness.sent_named("skill.execute.failed") == []


def test_malformed_event_fails_without_calling_anything(harness: Harness) -> None:
    result = harness.trigger("skill-execute", "skill.execute", {"runId": "r1"})
    assert result.status is mocked.Status.FAILED
    assert "invalid skill.execute event" in str(result.error)
    assert harness.services.calls == []


def test_run_cancelled_while_the_llm_worked_stays_cancelled_and_silent(harness: Harness) -> None:
    def cancel(*_: object) -> None:
        harness.services.runs["r1"].status = "cancelled"

    harness.executor.script = [OUTCOME]
    harness.executor.before_call = cancel
    result = start(harness)
    assert result.output["cancelled"] is True
    assert harness.services.runs["r1"].status == "cancelled"
    assert harness.client.sent == []
    # Issue 17: it still got an output row. Now none, and the file saved for it is gone too.
    assert harness.services.outputs == {}
    assert "outputId" not in result.output
    assert asyncio.run(harness.store.list("outputs/")) == []
