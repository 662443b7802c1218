"""``skill-execute`` in small-model mode: the LLM part of a run as one step per required section.

With the offline model (``FunctionDeps.sections`` set) the single ``execute-skill`` step becomes::

    plan-sections → write-section-1 → write-section-2 → … → write-section-N

``plan-sections`` reads the skill's ``required_sections``; each ``write-section-N`` writes one section and
returns it, so the dashboard shows the deliverable growing section by section, and a failure retries only
the section it hit (the ones before it are memoized). A skill without required sections gets an empty plan
and runs its ordinary ``execute-skill`` step. The result has the shape ``execute-skill`` returns (the
outcome's fields, or a failure), so the rest of the function does not know which way the text was made.

Errors follow ``execute-skill``: a retryable one raises inside its step (the engine retries it, honouring
Retry-After); a permanent one (unknown skill, client without a profile, bad options) is returned as a
failure value and the function takes its failure path.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

import inngest

from marketing_agent.functions._common import failure_result, is_permanent, retry_later
from marketing_agent.functions.deps import SectionWriter
from marketing_agent.functions.events import SkillExecute

logger = logging.getLogger(__name__)

PLAN_STEP = "plan-sections"


def write_step_id(number: int) -> str:
    """The step id of section ``number`` (1-based, as the dashboard lists them)."""
    return f"write-section-{number}"


async def _guarded(run_id: str, ctx: inngest.Context, call: Callable[[], Awaitable[Any]]) -> Any:
    try:
        return await call()
    except Exception as exc:
        if is_permanent(exc):
            return failure_result(exc)
        logger.warning("skill run %s attempt %d: retryable error: %s", run_id, ctx.attempt, exc)
        raise retry_later(exc) from exc


async def execute_by_sections(
    ctx: inngest.Context,
    sections: SectionWriter,
    data: SkillExecute,
    client_slug: str | None,
    execute_whole: Callable[[], Awaitable[dict[str, Any]]],
) -> dict[str, Any]:
    """The run's outcome as a JSON step value (``{"failed": False, **outcome}`` or a failure)."""
    run_id = data.run_id
    options = data.options or {}

    async def plan_step() -> dict[str, Any]:
        async def plan() -> dict[str, Any]:
            return {"failed": False, "plan": await sections.plan(data.skill_name, data.user_message, options)}

        result: dict[str, Any] = await _guarded(run_id, ctx, plan)
        return result

    planned = await ctx.step.run(PLAN_STEP, plan_step)
    if planned["failed"]:
        return dict(planned)
    plan = planned["plan"]
    if not plan:
        return await execute_whole()

    written: list[dict[str, Any]] = []
    for index in range(len(plan["headings"])):

        async def write_step(index: int = index, before: tuple[dict[str, Any], ...] = tuple(written)) -> dict[str, Any]:
            async def write() -> dict[str, Any]:
                section = await sections.write(
                    data.skill_name, data.user_message, client_slug, options, plan, index, before
                )
                return {"failed": False, **section}

            result: dict[str, Any] = await _guarded(run_id, ctx, write)
            return result

        section = await ctx.step.run(write_step_id(index + 1), write_step)
        if section["failed"]:
            return dict(section)
        written.append({k: v for k, v in section.items() if k != "failed"})

    outcome = sections.outcome(data.skill_name, plan, written)
    ctx.logger.info("skill run %s written in %d sections", run_id, len(written))
    return {"failed": False, **asdict(outcome)}


__all__ = ["PLAN_STEP", "execute_by_sections", "write_step_id"]
