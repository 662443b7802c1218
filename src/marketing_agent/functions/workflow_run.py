"""``workflow-run``: carry out one workflow run — stage after stage, in parallel where they are independent,
with a person's review at the gates.

Steps (ids are durable state: never rename them; ``<s>`` is a stage, ``<n>`` its attempt, ``<k>`` a slice)::

    load-workflow
    per stage, in one parallel group (RACE mode, so each branch moves on as soon as its own step ends):
      <s>-start-<n>      create the stage's skill run (message rendered from inputs and earlier outputs;
                         for a revision, the previous draft and the notes); None once the workflow ended
      <s>-skill-<n>      step.invoke skill-execute with that run (its own function run, trace and retries)
      <s>-finish-<n>     completed / awaiting_review (with the output) / failed
      <s>-channels-<n>, <s>-notify-<n>-<channel>   review request to each of the user's channels
      <s>-review-<n>-<k> step.wait_for_event workflow.stage.reviewed (this run and stage)
      <s>-check-<n>-<k>  after a slice without the event: the review recorded in the database, if any
      <s>-expire-<n>     no review before the definition's review_timeout: the workflow is ``expired``
      <s>-end-<n>        the workflow ended early (failed, rejected, expired): wake every other waiting
                         stage with a ``stage: "*"`` event so the run ends now, not when their waits time out
    finish-workflow → get-user-channels → notify-finished-<channel> (a summary linking every output)

Why slices: a wait sees only events that arrive after it began, and a review can be recorded between the
step that set ``awaiting_review`` and the engine registering the wait. The review API records the decision
in the database before sending the event, so each slice (at most ``REVIEW_SLICE``) ends with a check of the
database: a review is never lost, at worst seen one slice late.

Revisions: ``revise`` re-runs the stage as attempt n + 1 (at most ``MAX_REVISIONS``; the API refuses more).
Cancel: the API marks the run cancelled and cancels this function run and the active skill runs; a step that
starts afterwards sees the run ended and does nothing.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import inngest
from pydantic import ValidationError

from marketing_agent.functions._common import send_each, step_safe
from marketing_agent.functions.deps import ChannelTarget, FunctionDeps
from marketing_agent.functions.events import WORKFLOW_STAGE_REVIEWED, SkillExecute, WorkflowRunStarted
from marketing_agent.workflows import WorkflowStage, definition_from_json

FUNCTION_ID = "workflow-run"
RETRIES = 3
#: The longest single wait for a review; see the module docstring.
REVIEW_SLICE = timedelta(hours=2)
#: ``stage`` of the event that tells every waiting stage the workflow has ended.
ALL_STAGES = "*"

_DONE = "done"
_STOPPED = "stopped"
_BLOCKED = "blocked"


def review_filter(workflow_run_id: str, stage: str) -> str:
    """The wait's CEL match: this workflow run, and this stage or every stage. Both values are ids
    (a UUID and a validated slug), so quoting them is safe."""
    return (
        f'async.data.workflowRunId == "{workflow_run_id}" && '
        f'(async.data.stage == "{stage}" || async.data.stage == "{ALL_STAGES}")'
    )


def review_slices(timeout: timedelta) -> list[timedelta]:
    count = max(1, math.ceil(timeout / REVIEW_SLICE))
    return [min(REVIEW_SLICE, timeout - REVIEW_SLICE * k) for k in range(count)]


def ended_event_id(workflow_run_id: str) -> str:
    return f"workflow-ended-{workflow_run_id}"


def build_workflow_run(
    client: inngest.Inngest, deps: FunctionDeps, skill_execute: inngest.Function[Any]
) -> inngest.Function[Any]:
    workflows = deps.workflows
    if workflows is None:
        raise ValueError("workflow-run needs FunctionDeps.workflows")
    services = deps.services

    @client.create_function(
        fn_id=FUNCTION_ID,
        name="Run workflow",
        retries=RETRIES,
        trigger=inngest.TriggerEvent(event=WorkflowRunStarted.name()),
    )
    async def workflow_run(ctx: inngest.Context) -> dict[str, Any]:
        try:
            data = WorkflowRunStarted.from_event(ctx.event)
        except ValidationError as exc:
            raise inngest.NonRetriableError(f"invalid {WorkflowRunStarted.name()} event: {exc}") from exc
        wr = data.workflow_run_id
        loaded = await ctx.step.run("load-workflow", workflows.start, wr, ctx.run_id)
        if loaded["terminal"]:
            ctx.logger.info("workflow run %s already %s; nothing to do", wr, loaded["status"])
            return {"workflowRunId": wr, "status": loaded["status"], "skipped": True}
        definition = definition_from_json(loaded["definition"])
        results: dict[str, str] = {}

        async def end_early(stage: str, attempt: int) -> None:
            ended = inngest.Event(
                name=WORKFLOW_STAGE_REVIEWED,
                data={"workflowRunId": wr, "stage": ALL_STAGES, "ended": True},
                id=ended_event_id(wr),
            )
            await ctx.step.send_event(f"{stage}-end-{attempt}", ended)

        async def wait_review(stage: str, attempt: int) -> dict[str, Any] | None:
            for k, length in enumerate(review_slices(definition.review_timeout)):
                event = await ctx.step.wait_for_event(
                    f"{stage}-review-{attempt}-{k}",
                    event=WORKFLOW_STAGE_REVIEWED,
                    if_exp=review_filter(wr, stage),
                    timeout=length,
                )
                if event is not None:
                    if event.data.get("stage") == ALL_STAGES:
                        return {"ended": True}
                    return {"decision": event.data.get("decision"), "notes": event.data.get("notes")}
                recorded = await ctx.step.run(
                    f"{stage}-check-{attempt}-{k}", workflows.recorded_review, wr, stage, attempt
                )
                if recorded is not None:
                    return recorded
            return None

        async def notify_review(stage: str, attempt: int) -> None:
            async def channels() -> list[dict[str, Any]]:
                return [
                    {"id": t.id, "channel": t.channel, "label": t.label}
                    for t in await services.list_user_channels(data.user_id)
                ]

            targets = [ChannelTarget(**raw) for raw in await ctx.step.run(f"{stage}-channels-{attempt}", channels)]

            async def send(target: ChannelTarget) -> None:
                await workflows.send_review_request(wr, stage, target)

            await send_each(ctx, targets, lambda t: f"{stage}-notify-{attempt}-{t.channel}-{step_safe(t.id)}", send)

        async def run_stage(stage: WorkflowStage) -> str:
            for dependency in stage.depends_on:
                prior = results.get(dependency)
                if prior is None:
                    return _BLOCKED  # the dependency's branch is still pending in this replay
                if prior != _DONE:
                    results[stage.name] = _STOPPED
                    return _STOPPED
            attempt = 0
            while True:
                began = await ctx.step.run(
                    f"{stage.name}-start-{attempt}", workflows.begin_stage, wr, stage.name, attempt
                )
                if began is None:
                    results[stage.name] = _STOPPED
                    return _STOPPED
                event = SkillExecute.from_data(began).to_wire()
                try:
                    outcome = await ctx.step.invoke(f"{stage.name}-skill-{attempt}", function=skill_execute, data=event)
                except inngest.StepError as exc:  # the skill run failed for good (its retries are used up)
                    outcome = {"success": False, "error": exc.message}
                if not isinstance(outcome, dict):
                    outcome = {"success": False, "error": "the skill run returned nothing"}
                output_id = outcome.get("outputId") if outcome.get("success") else None
                error = None if output_id else str(outcome.get("error") or "the skill run ended without an output")
                finished = await ctx.step.run(
                    f"{stage.name}-finish-{attempt}",
                    workflows.finish_stage,
                    wr,
                    stage.name,
                    attempt,
                    output_id,
                    error,
                    stage.approval,
                )
                status = finished["status"]
                if status == "completed":
                    results[stage.name] = _DONE
                    return _DONE
                if status != "awaiting_review":
                    if status == "failed":
                        ctx.logger.warning("workflow run %s: stage %s failed: %s", wr, stage.name, error)
                        await end_early(stage.name, attempt)
                    results[stage.name] = _STOPPED
                    return _STOPPED
                await notify_review(stage.name, attempt)
                review = await wait_review(stage.name, attempt)
                if review is None:
                    await ctx.step.run(f"{stage.name}-expire-{attempt}", workflows.expire, wr, stage.name)
                    await end_early(stage.name, attempt)
                    results[stage.name] = _STOPPED
                    return _STOPPED
                decision = review.get("decision")
                if decision == "approve":
                    results[stage.name] = _DONE
                    return _DONE
                if decision == "revise":
                    attempt += 1
                    continue
                if decision == "reject":
                    await end_early(stage.name, attempt)
                results[stage.name] = _STOPPED
                return _STOPPED

        branches = tuple((lambda stage=stage: run_stage(stage)) for stage in definition.stages)
        outcomes = await ctx.group.parallel(branches, parallel_mode=inngest.ParallelMode.RACE)
        summary = await ctx.step.run("finish-workflow", workflows.finish, wr)

        async def channels_step() -> list[dict[str, Any]]:
            return [
                {"id": t.id, "channel": t.channel, "label": t.label}
                for t in await services.list_user_channels(data.user_id)
            ]

        if summary["status"] != "cancelled":
            targets = [ChannelTarget(**raw) for raw in await ctx.step.run("get-user-channels", channels_step)]

            async def send(target: ChannelTarget) -> None:
                await workflows.send_finished(wr, target)

            await send_each(ctx, targets, lambda t: f"notify-finished-{t.channel}-{step_safe(t.id)}", send)
        ctx.logger.info("workflow run %s ended %s", wr, summary["status"])
        return {
            "workflowRunId": wr,
            "status": summary["status"],
            "stages": dict(zip([s.name for s in definition.stages], outcomes, strict=False)),
        }

    return workflow_run


__all__ = ["ALL_STAGES", "FUNCTION_ID", "REVIEW_SLICE", "build_workflow_run", "review_filter", "review_slices"]
