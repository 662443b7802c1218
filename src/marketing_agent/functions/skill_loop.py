"""The LLM part of ``skill-execute``: one ``execute-skill`` step, or the durable multi-turn tool loop.

Steps of a run whose skill uses tools (ids are durable state: never rename them)::

    plan-skill → llm-turn-1 → tool-1-web_fetch → tool-2-web_search → llm-turn-2 → … → record-trace

Every model turn and every tool call is its own step, so each is retried on its own and shows in the
dashboard, and a run killed during turn 3 replays turns 1-2 and their tool calls from memory (no second
provider call, no second fetch) and resumes at turn 3. The ids are stable because everything that
decides the next step — the turns, the tool calls they asked for, the limits — comes from memoized step
values, and the function body keeps no other state. Tool calls are numbered over the whole run.

A skill without tools (or a provider without tool use) keeps the single ``execute-skill`` step.
Limits are decided in ``agent.loop.decide_turn`` (see docs/agent-loop.md).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

import inngest

from marketing_agent.agent.llm import Message, ToolCall, ToolResult
from marketing_agent.agent.loop import TurnDecision, decide_turn
from marketing_agent.agent.loop_records import LoopPlan, TurnRecord
from marketing_agent.agent.skill import ToolName
from marketing_agent.agent.tools import ToolOutcome, ToolStatus
from marketing_agent.errors import RunLimitReached
from marketing_agent.functions._common import failure_result, is_permanent, step_safe
from marketing_agent.functions.deps import FunctionDeps, RunUsage, SkillAgent
from marketing_agent.functions.events import SkillExecute

logger = logging.getLogger(__name__)

#: The run's retry policy applies per step; ``raise`` hands the engine a retryable error.
RetryLater = Callable[[Exception], Exception]
_KNOWN_TOOLS = frozenset(t.value for t in ToolName)


async def run_llm(
    ctx: inngest.Context,
    deps: FunctionDeps,
    data: SkillExecute,
    client_slug: str | None,
    single: Callable[[list[str]], Awaitable[dict[str, Any]]],
    retry_later: RetryLater,
) -> dict[str, Any]:
    """The run's LLM work; the value has the shape of the ``execute-skill`` step's.

    ``single(extra_warnings)`` runs the one-step path (the ``execute-skill`` step).
    """
    agent = deps.agent
    if agent is None:
        return await single([])

    async def plan_step() -> dict[str, Any]:
        try:
            plan = await agent.plan(data.skill_name, client_slug, data.options or {})
        except Exception as exc:
            if is_permanent(exc):
                return failure_result(exc)
            raise
        return {"failed": False, "plan": plan.to_json()}

    planned = await ctx.step.run("plan-skill", plan_step)
    if planned["failed"]:
        return planned
    plan = LoopPlan.from_json(planned["plan"])
    if not plan.uses_tools:
        return await single(list(plan.warnings))
    loop = _Loop(ctx, deps, agent, data, client_slug, plan, retry_later)
    return await loop.run()


class _Loop:
    def __init__(
        self,
        ctx: inngest.Context,
        deps: FunctionDeps,
        agent: SkillAgent,
        data: SkillExecute,
        client_slug: str | None,
        plan: LoopPlan,
        retry_later: RetryLater,
    ) -> None:
        self.ctx, self.deps, self.agent, self.data = ctx, deps, agent, data
        self.slug, self.plan, self.retry_later = client_slug, plan, retry_later
        self.turns: list[TurnRecord] = []
        self.transcript: list[Message] = []
        self.calls: list[tuple[str, ToolOutcome]] = []  # (step id, outcome) over the run
        self.cache: dict[str, ToolOutcome] = {}  # this run's earlier answers, by tool name and input
        self.warnings: list[str] = []

    async def run(self) -> dict[str, Any]:
        failure: dict[str, Any] | None = None
        pending_chars = 0
        while True:
            decision = decide_turn(
                self.plan,
                self.turns,
                calls_used=len(self.calls),
                pending_chars=pending_chars,
            )
            if decision.stop:
                failure = failure_result(RunLimitReached(f"run stopped: {decision.stop}"))
                break
            number = len(self.turns) + 1
            turn = await self._turn(decision)
            if isinstance(turn, dict):
                failure = turn
                break
            self.turns.append(turn)
            self.transcript.append(turn.as_message())
            if decision.final_limit and number > 1:
                self.warnings.append(
                    f"{decision.final_limit} reached: the last turn was not allowed to call tools and wrote "
                    "the answer from the evidence gathered so far"
                )
            if turn.stop_reason == "pause_turn" and not decision.final:
                continue  # the provider paused its own server tool; the next turn lets it go on
            if not turn.tool_calls:
                break
            if decision.final:  # a provider that called tools anyway: they are not run
                break
            results = await self._tools(turn.tool_calls)
            pending_chars = sum(len(r.content) for r in results)
            self.transcript.append(Message("user", "", tool_results=tuple(results)))
        await self._record_trace(failure)
        if failure is None and not self.turns[-1].text.strip():
            failure = failure_result(RunLimitReached("the model ended without writing a deliverable"))
        if failure is not None:
            return {**failure, "usage": self.usage().to_json()}
        outcome = await self.agent.finish(self.plan, self.slug, self.turns, self.warnings)
        return {"failed": False, **asdict(outcome)}

    def usage(self) -> RunUsage:
        """What the turns so far cost: a run that fails after them was billed for them."""
        return RunUsage(
            tokens_in=sum(t.tokens_input for t in self.turns),
            tokens_out=sum(t.tokens_output for t in self.turns),
            cost_usd=sum(t.cost_usd or 0.0 for t in self.turns),
        )

    async def _turn(self, decision: TurnDecision) -> TurnRecord | dict[str, Any]:
        number = len(self.turns) + 1
        transcript = list(self.transcript)

        async def step() -> dict[str, Any]:
            try:
                record = await self.agent.turn(
                    self.plan, self.data.user_message, self.slug, self.data.options or {}, transcript, decision
                )
            except Exception as exc:
                if is_permanent(exc):
                    return failure_result(exc)
                logger.warning("skill run %s turn %d: retryable error: %s", self.data.run_id, number, exc)
                raise self.retry_later(exc) from exc
            return {"failed": False, "turn": record.to_json()}

        value = await self.ctx.step.run(f"llm-turn-{number}", step)
        if value["failed"]:
            return dict(value)
        return TurnRecord.from_json(value["turn"])

    async def _tools(self, calls: tuple[ToolCall, ...]) -> list[ToolResult]:
        results: list[ToolResult] = []
        for call in calls:
            if len(self.calls) >= self.plan.limits.max_tool_calls:
                limit = f"max_tool_calls ({self.plan.limits.max_tool_calls})"
                results.append(ToolResult(call.id, f"Tool error: not run, {limit} reached.", is_error=True))
                continue
            outcome = await self._tool(call)
            results.append(ToolResult(call.id, outcome.content, is_error=outcome.is_error))
        return results

    async def _tool(self, call: ToolCall) -> ToolOutcome:
        name = call.name if call.name in _KNOWN_TOOLS else "unknown"
        step_id = f"tool-{len(self.calls) + 1}-{step_safe(name)}"
        key = f"{call.name}:{json.dumps(call.input, sort_keys=True)}"
        earlier = self.cache.get(key)

        async def step() -> dict[str, Any]:
            if earlier is not None:  # same tool, same input, same run: answer from the first call
                return {**earlier.to_json(), "cached": True, "duration_ms": 0}
            outcome = await self.agent.tool(self.slug, call.name, call.input)
            return outcome.to_json()

        try:
            outcome = ToolOutcome.from_json(await self.ctx.step.run(step_id, step))
        except inngest.StepError as exc:  # retries used up (e.g. storage down): the model hears of it
            outcome = ToolOutcome(
                call.name, call.input, ToolStatus.ERROR, f"Tool error: {exc.message}", error=exc.message
            )
        if not outcome.is_error:
            self.cache.setdefault(key, outcome)
        self.calls.append((step_id, outcome))
        return outcome

    async def _record_trace(self, failure: dict[str, Any] | None) -> None:
        trace = self.trace(failure)

        async def step() -> None:
            await self.deps.services.record_run_trace(self.data.run_id, trace)

        await self.ctx.step.run("record-trace", step)

    def trace(self, failure: dict[str, Any] | None) -> dict[str, Any]:
        """What ``GET /runs/{id}`` lists: each turn and each tool call (name, input, status, time, bytes)."""
        by_turn: list[list[str]] = []
        index = 0
        for turn in self.turns:
            wanted = min(len(turn.tool_calls), len(self.calls) - index)
            by_turn.append([step_id for step_id, _ in self.calls[index : index + wanted]])
            index += wanted
        return {
            "turns": [t.summary(n, ids) for n, (t, ids) in enumerate(zip(self.turns, by_turn, strict=True), 1)],
            "tool_calls": [{"step": step_id, **outcome.summary()} for step_id, outcome in self.calls],
            "limits": asdict(self.plan.limits),
            "stopped_by": failure["error"] if failure else None,
        }
