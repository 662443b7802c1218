"""``skill-execute``: carry out one skill run, step by step, durably.

Steps (ids are part of the durable state: never rename them)::

    update-status-running → get-client-slug → execute-skill → save-output → create-output-record
    → update-status-completed → send-completion-event

Failure paths (what the seed got wrong is fixed here):

* a retryable error (rate limit, overload, 5xx, timeout) raises inside its step, so the engine retries
  the step with backoff and every attempt shows in the dashboard;
* a non-retryable error (client without profile, unknown skill, 400/401/…) is returned by the step as a
  value; the function then marks the run failed and emits ``skill.execute.failed`` (``retryable: false``)
  in two more steps and ends — it does not raise, so ``on_failure`` does not fire a second time;
* when the retries are used up the run fails and ``on_failure`` marks it failed and emits the same event.

Idempotency: the output key contains the run id and the output row is unique per run, so a step re-run
after a crash rewrites the same file and finds the same row. Emitted events carry ids derived from the
run id, which the event API deduplicates.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import inngest

from marketing_agent.functions._common import failure_result, is_permanent
from marketing_agent.functions.deps import FunctionDeps, SkillOutcome
from marketing_agent.functions.events import (
    SkillExecute,
    SkillExecuteCompleted,
    SkillExecuteFailed,
)
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


def _output_day(event: inngest.Event) -> datetime:
    """The run's day for its output key, taken from the event so every replay computes the same key."""
    if event.ts > 0:
        return datetime.fromtimestamp(event.ts / 1000, tz=UTC)
    return datetime.now(tz=UTC)


def build_skill_execute(client: inngest.Inngest, deps: FunctionDeps) -> inngest.Function[Any]:
    services = deps.services

    async def on_failure(ctx: inngest.Context) -> dict[str, Any]:
        """Runs after the last retry (``inngest/function.failed``): record the failure and announce it."""
        original = ctx.event.data.get("event")
        error = ctx.event.data.get("error")
        if not isinstance(original, dict) or not isinstance(original.get("data"), dict):
            logger.error("skill-execute on_failure without the original event: %s", ctx.event.id)
            return {"handled": False}
        data = SkillExecute.from_data(original["data"])
        message = "skill run failed"
        if isinstance(error, dict):
            message = str(error.get("message") or error.get("error") or message)
        logger.warning("skill run %s failed after retries: %s", data.run_id, message)
        await ctx.step.run("update-status-failed", services.mark_run_failed, data.run_id, message)
        failed = SkillExecuteFailed(run_id=data.run_id, error=message, retryable=False)
        await ctx.step.send_event(
            "send-failure-event", failed.to_event(event_id=failed_event_id(data.run_id))
        )
        return {"handled": True, "runId": data.run_id}

    @client.create_function(
        fn_id=FUNCTION_ID,
        name="Execute skill",
        retries=RETRIES,
        throttle=THROTTLE,
        on_failure=on_failure,
        trigger=inngest.TriggerEvent(event=SkillExecute.name()),
    )
    async def skill_execute(ctx: inngest.Context) -> dict[str, Any]:
        data = SkillExecute.from_event(ctx.event)
        run_id = data.run_id

        async def fail(error: dict[str, Any]) -> dict[str, Any]:
            message = str(error["error"])
            logger.warning("skill run %s failed (not retryable, %s): %s", run_id, error["code"], message)
            await ctx.step.run("update-status-failed", services.mark_run_failed, run_id, message)
            failed = SkillExecuteFailed(run_id=run_id, error=message, retryable=False)
            await ctx.step.send_event("send-failure-event", failed.to_event(event_id=failed_event_id(run_id)))
            return {"success": False, "runId": run_id, "error": message, "code": error["code"]}

        proceed = await ctx.step.run("update-status-running", services.mark_run_running, run_id)
        if not proceed:
            # Cancelled (or already finished by an earlier function run): never resurrect it.
            logger.info("skill run %s is no longer runnable; skipping", run_id)
            return {"success": False, "runId": run_id, "skipped": True}

        async def client_slug_step() -> dict[str, Any]:
            if data.client_id is None:
                return {"slug": None}
            try:
                return {"slug": await services.get_client_slug(data.client_id)}
            except Exception as exc:
                if is_permanent(exc):
                    return failure_result(exc)
                raise

        slug_result = await ctx.step.run("get-client-slug", client_slug_step)
        if slug_result.get("failed"):
            return await fail(slug_result)
        client_slug: str | None = slug_result["slug"]

        async def execute_step() -> dict[str, Any]:
            try:
                outcome = await deps.execute(
                    data.skill_name, data.user_message, client_slug, data.options or {}
                )
            except Exception as exc:
                if is_permanent(exc):
                    return failure_result(exc)
                logger.warning("skill run %s attempt %d: retryable error: %s", run_id, ctx.attempt, exc)
                raise
            return {"failed": False, **asdict(outcome)}

        executed = await ctx.step.run("execute-skill", execute_step)
        if executed.get("failed"):
            return await fail(executed)
        executed.pop("failed")
        executed["warnings"] = tuple(executed.get("warnings") or ())
        outcome = SkillOutcome(**executed)

        async def save_output_step() -> str:
            key = keys.output_key(data.skill_name, client_slug, _output_day(ctx.event).date(), run_id)
            await deps.store.put(key, outcome.output.encode("utf-8"))
            return key

        output_key: str = await ctx.step.run("save-output", save_output_step)

        output_id: str = await ctx.step.run(
            "create-output-record",
            lambda: services.record_output(
                run_id,
                key=output_key,
                title=outcome.title,
                content=outcome.output,
                output_format=OUTPUT_FORMAT,
            ),
        )
        await ctx.step.run("update-status-completed", services.mark_run_completed, run_id, outcome)
        completed = SkillExecuteCompleted(run_id=run_id, output_id=output_id, s3_key=output_key)
        await ctx.step.send_event(
            "send-completion-event", completed.to_event(event_id=completed_event_id(run_id))
        )
        logger.info("skill run %s completed: output %s at %s", run_id, output_id, output_key)
        return {
            "success": True,
            "runId": run_id,
            "outputId": output_id,
            "s3Key": output_key,
            "tokensUsed": outcome.tokens_in + outcome.tokens_out,
        }

    return skill_execute


__all__ = ["FUNCTION_ID", "build_skill_execute", "completed_event_id", "failed_event_id"]
