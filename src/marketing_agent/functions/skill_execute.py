"""``skill-execute``: carry out one skill run, step by step, durably.

Steps (ids are part of the durable state: never rename them)::

    update-status-running → get-client-slug → plan-skill → execute-skill → save-output
    → create-output-record → update-status-completed → send-completion-event

A skill with tools replaces ``execute-skill`` by the agent loop's steps (``llm-turn-N``,
``tool-N-<name>``, ``record-trace``; see ``functions.skill_loop``).

With the offline model, ``execute-skill`` is replaced by ``plan-sections → write-section-1 … N``, one step
per required section of the skill (small-model mode, :mod:`marketing_agent.functions.skill_sections`).

Failure paths (what the seed got wrong is fixed here):

* a retryable error (rate limit, overload, 5xx, timeout) raises inside its step, so the engine retries
  the step with backoff and every attempt shows in the dashboard;
* a non-retryable error (client without profile, unknown skill, 400/401/…) is returned by the step as a
  value; the function then marks the run failed and emits ``skill.execute.failed`` (``retryable: false``)
  in two more steps and ends — it does not raise, so ``on_failure`` does not fire a second time;
* when the retries are used up the run fails and ``on_failure`` marks it failed and emits the same event.

Cancellation: a run cancelled before it starts is skipped at the first step; one cancelled while a step
runs stays cancelled (the completion step does not overwrite it) and no completion event is sent. One
cancelled while the LLM worked gets no output row (``create-output-record`` finds it ended) and its saved
file is removed (``discard-output``).

Replay: an engine replay (or rerun) of a failed function run is a new attempt on the SAME skill run, not a
second run row: ``update-status-running`` moves the failed run back to running and records the new function
run id (``services.mark_run_running``); the output key and row are per skill run, so it still has one output.

Idempotency: the output key contains the run id and the output row is unique per run, so a step re-run
after a crash rewrites the same file and finds the same row. Emitted events carry ids derived from the
run id, which the event API deduplicates.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import inngest
from pydantic import ValidationError

from marketing_agent.agent.run_options import StoredRunOptions
from marketing_agent.functions._common import failure_result, is_permanent, retry_later
from marketing_agent.functions.deps import FunctionDeps, RunUsage, SkillOutcome
from marketing_agent.functions.events import (
    SkillExecute,
    SkillExecuteCompleted,
    SkillExecuteFailed,
)
from marketing_agent.functions.skill_loop import run_llm
from marketing_agent.functions.skill_sections import execute_by_sections
from marketing_agent.storage import keys

logger = logging.getLogger(__name__)

FUNCTION_ID = "skill-execute"
RETRIES = 3
#: "10 runs a minute per user", excess waits (a throttle queues; it never drops).
THROTTLE = inngest.Throttle(limit=10, period=timedelta(minutes=1), key="event.data.userId")
OUTPUT_FORMAT = "markdown"


def completed_event_id(run_id: str) -> str:
    """Event id of a run's completion event; the event API drops a second send with the same id."""
    return f"{run_id}-completed"


def failed_event_id(run_id: str) -> str:
    return f"{run_id}-failed"


def _output_day(event: inngest.Event) -> date:
    """The run's day for its output key, from the event's time so every replay computes the same key."""
    if event.ts > 0:
        return datetime.fromtimestamp(event.ts / 1000, tz=UTC).date()
    return datetime.now(tz=UTC).date()


async def _fail_run(
    ctx: inngest.Context, deps: FunctionDeps, run_id: str, message: str, usage: RunUsage | None = None
) -> bool:
    """The two failure steps both paths share: record the failure, then announce it.

    A run that ended otherwise meanwhile (cancelled by its user, or deleted) is neither marked nor
    announced as failed.
    """

    async def record() -> bool:
        try:
            return await deps.services.mark_run_failed(run_id, message, usage)
        except Exception as exc:
            if is_permanent(exc):  # the run row is gone: nothing to record or announce
                return False
            raise

    recorded = await ctx.step.run("update-status-failed", record)
    if recorded:
        failed = SkillExecuteFailed(run_id=run_id, error=message, retryable=False)
        await ctx.step.send_event("send-failure-event", failed.to_event(event_id=failed_event_id(run_id)))
    return recorded


def build_on_failure(deps: FunctionDeps) -> Callable[[inngest.Context], Awaitable[dict[str, Any]]]:
    """The handler the engine calls after the last retry, with the ``inngest/function.failed`` event."""

    async def on_failure(ctx: inngest.Context) -> dict[str, Any]:
        original = ctx.event.data.get("event")
        if not isinstance(original, dict) or not isinstance(original.get("data"), dict):
            ctx.logger.error("skill-execute failure event %s lacks the original event", ctx.event.id)
            return {"handled": False}
        try:
            data = SkillExecute.from_data(original["data"])
        except ValidationError:
            ctx.logger.error("skill-execute failed on an invalid event (%s); no run to mark", ctx.event.id)
            return {"handled": False}
        error = ctx.event.data.get("error")
        message = "skill run failed"
        if isinstance(error, dict):
            message = str(error.get("message") or error.get("error") or message)
        ctx.logger.warning("skill run %s failed after its retries: %s", data.run_id, message)
        recorded = await _fail_run(ctx, deps, data.run_id, message)
        return {"handled": recorded, "runId": data.run_id, "error": message}

    return on_failure


def _output_type(options: dict[str, Any] | None) -> str | None:
    """The run's ``outputType``. The API checked the options; an event sent past it with options the
    executor took anyway just gets no output type."""
    try:
        return StoredRunOptions.model_validate(options or {}).output_type
    except ValidationError:
        return None


def build_skill_execute(client: inngest.Inngest, deps: FunctionDeps) -> inngest.Function[Any]:
    services = deps.services

    @client.create_function(
        fn_id=FUNCTION_ID,
        name="Execute skill",
        retries=RETRIES,
        throttle=THROTTLE,
        on_failure=build_on_failure(deps),
        trigger=inngest.TriggerEvent(event=SkillExecute.name()),
    )
    async def skill_execute(ctx: inngest.Context) -> dict[str, Any]:
        try:
            data = SkillExecute.from_event(ctx.event)
        except ValidationError as exc:
            # A malformed event stays malformed: fail the function run now instead of retrying it.
            raise inngest.NonRetriableError(f"invalid {SkillExecute.name()} event: {exc}") from exc
        run_id = data.run_id

        async def give_up(failure: dict[str, Any]) -> dict[str, Any]:
            # Not raising: the run is over and recorded, and raising would fire on_failure a second time.
            message = str(failure["error"])
            ctx.logger.warning("skill run %s failed (%s, not retryable): %s", run_id, failure["code"], message)
            # A run stopped after some LLM turns was billed for them: its tokens and cost are recorded too.
            await _fail_run(ctx, deps, run_id, message, RunUsage.from_json(failure.get("usage")))
            return {"success": False, "runId": run_id, "error": message, "code": failure["code"]}

        async def running_step() -> bool:
            try:
                return await services.mark_run_running(run_id, ctx.run_id)
            except Exception as exc:
                if is_permanent(exc):  # no such run (deleted, or not a run id): nothing to do
                    return False
                raise

        proceed = await ctx.step.run("update-status-running", running_step)
        if not proceed:
            # Cancelled, deleted, or completed by an earlier function run of the same event: never resurrect it.
            ctx.logger.info("skill run %s is no longer runnable; skipping", run_id)
            return {"success": False, "runId": run_id, "skipped": True}

        async def client_slug_step() -> dict[str, Any]:
            if data.client_id is None:
                return {"failed": False, "slug": None}
            try:
                return {"failed": False, "slug": await services.get_client_slug(data.client_id)}
            except Exception as exc:
                if is_permanent(exc):
                    return failure_result(exc)
                raise

        slug_result = await ctx.step.run("get-client-slug", client_slug_step)
        if slug_result["failed"]:
            return await give_up(slug_result)
        client_slug: str | None = slug_result["slug"]

        async def execute_step() -> dict[str, Any]:
            try:
                outcome = await deps.execute(data.skill_name, data.user_message, client_slug, data.options or {})
            except Exception as exc:
                if is_permanent(exc):
                    return failure_result(exc)
                logger.warning("skill run %s attempt %d: retryable error: %s", run_id, ctx.attempt, exc)
                raise retry_later(exc) from exc
            return {"failed": False, **asdict(outcome)}

        async def execute_whole() -> dict[str, Any]:
            value: dict[str, Any] = await ctx.step.run("execute-skill", execute_step)
            return value

        async def single_step(plan_warnings: list[str]) -> dict[str, Any]:
            if deps.sections is not None:  # the offline model: one step per required section
                value = await execute_by_sections(ctx, deps.sections, data, client_slug, execute_whole)
            else:
                value = await execute_whole()
            if plan_warnings and not value["failed"]:
                value = {**value, "warnings": [*plan_warnings, *(value["warnings"] or ())]}
            return value

        # The one call site of the LLM work: one step, or the multi-turn tool loop (functions.skill_loop).
        executed = await run_llm(ctx, deps, data, client_slug, single_step, retry_later)
        if executed["failed"]:
            return await give_up(executed)
        outcome = outcome_from_json(executed)

        output_type = _output_type(data.options)

        async def save_output_step() -> str:
            day = _output_day(ctx.event)
            key = keys.output_key(data.skill_name, client_slug, day, run_id, output_type=output_type)
            await deps.store.put(key, outcome.output.encode("utf-8"))
            return key

        output_key: str = await ctx.step.run("save-output", save_output_step)

        async def output_record_step() -> str | None:
            return await services.record_output(
                run_id,
                key=output_key,
                title=f"{output_type}: {outcome.title}" if output_type else outcome.title,
                content=outcome.output,
                output_format=OUTPUT_FORMAT,
            )

        output_id: str | None = await ctx.step.run("create-output-record", output_record_step)
        if output_id is None:
            # Cancelled while the LLM worked: no output row, and the file just written goes too.
            await ctx.step.run("discard-output", deps.store.delete, output_key)
            ctx.logger.info("skill run %s was cancelled before its output was recorded", run_id)
            return {"success": False, "runId": run_id, "cancelled": True}
        done = await ctx.step.run("update-status-completed", services.mark_run_completed, run_id, outcome)
        if not done:
            # Cancelled while the LLM was working (and the engine could not stop us in time): keep it
            # cancelled and announce nothing.
            ctx.logger.info("skill run %s was cancelled before it completed", run_id)
            return {"success": False, "runId": run_id, "cancelled": True, "outputId": output_id}
        completed = SkillExecuteCompleted(run_id=run_id, output_id=output_id, s3_key=output_key)
        await ctx.step.send_event("send-completion-event", completed.to_event(event_id=completed_event_id(run_id)))
        ctx.logger.info("skill run %s completed: output %s at %s", run_id, output_id, output_key)
        return {
            "success": True,
            "runId": run_id,
            "outputId": output_id,
            "s3Key": output_key,
            "tokensUsed": outcome.tokens_in + outcome.tokens_out,
        }

    return skill_execute


def outcome_from_json(raw: dict[str, Any]) -> SkillOutcome:
    fields = {name: raw[name] for name in SkillOutcome.__dataclass_fields__}
    fields["warnings"] = tuple(fields["warnings"] or ())
    return SkillOutcome(**fields)


__all__ = [
    "FUNCTION_ID",
    "build_on_failure",
    "build_skill_execute",
    "completed_event_id",
    "failed_event_id",
    "outcome_from_json",
]
