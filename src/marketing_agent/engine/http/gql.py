"""``/v0/gql``: the subset of the Inngest dev server's GraphQL schema that inngest-py's test helpers query.

Queries served: ``run(runID) { status output trace { childrenSpans { name outputID status } } }``,
``runTrigger(runID) { payloads }``, ``runTraceSpanOutputByID(outputID) { data error { message name stack } }``
and ``event(query: {eventId}) { id name functionRuns { id status } }``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import strawberry
from strawberry.asgi import GraphQL
from strawberry.types import Info

from ..service import EngineService


def _svc(info: Info) -> EngineService:
    svc: EngineService = info.context["engine"]
    return svc


@strawberry.type
class StepError:
    message: str | None
    name: str | None
    stack: str | None


@strawberry.type
class SpanOutput:
    data: str | None
    error: StepError | None


@strawberry.type
class RunTraceSpan:
    name: str
    status: str
    output_id: str | None = strawberry.field(name="outputID")
    step_op: str | None = strawberry.field(name="stepOp", default=None)
    attempts: int = 0


@strawberry.type
class RunTrace:
    name: str
    status: str
    children_spans: list[RunTraceSpan] = strawberry.field(name="childrenSpans")


@strawberry.type
class FunctionRun:
    id: str
    status: str
    output: str | None
    function_id: str = strawberry.field(name="functionID")
    trace: RunTrace | None


@strawberry.type
class RunTrigger:
    payloads: list[str]
    event_name: str | None = strawberry.field(name="eventName")


@strawberry.type
class Event:
    id: strawberry.ID
    name: str
    function_runs: list[FunctionRun] = strawberry.field(name="functionRuns")


@strawberry.input
class EventQuery:
    event_id: strawberry.ID = strawberry.field(name="eventId")


_STEP_STATUS = {"completed": "COMPLETED", "failed": "FAILED", "cancelled": "CANCELLED"}


def _span_status(status: str) -> str:
    return _STEP_STATUS.get(status, "RUNNING")


async def _function_run(svc: EngineService, run_id: str) -> FunctionRun | None:
    run = await svc.store.get_run(run_id)
    if run is None:
        return None
    spans = [
        RunTraceSpan(
            name=s["name"],
            status=_span_status(s["status"]),
            output_id=f"{run_id}:{s['step_id']}" if s["has_memo"] else None,
            step_op=s["op"],
            attempts=int(s["attempts"] or 0),
        )
        for s in run["steps"]
    ]
    return FunctionRun(
        id=run["id"], status=run["status"], output=run["output"], function_id=run["function_id"],
        trace=RunTrace(name=run["function_id"], status=run["status"], children_spans=spans),
    )  # fmt: skip


@strawberry.type
class Query:
    @strawberry.field
    async def run(self, info: Info, run_id: Annotated[str, strawberry.argument(name="runID")]) -> FunctionRun | None:
        return await _function_run(_svc(info), run_id)

    @strawberry.field(name="runTrigger")  # type: ignore[untyped-decorator]
    async def run_trigger(
        self, info: Info, run_id: Annotated[str, strawberry.argument(name="runID")]
    ) -> RunTrigger | None:
        events = await _svc(info).store.run_events(run_id)
        if events is None:
            return None
        return RunTrigger(
            payloads=[json.dumps(e) for e in events], event_name=events[0].get("name") if events else None
        )

    @strawberry.field(name="runTraceSpanOutputByID")  # type: ignore[untyped-decorator]
    async def span_output(
        self, info: Info, output_id: Annotated[str, strawberry.argument(name="outputID")]
    ) -> SpanOutput | None:
        run_id, _, step_id = output_id.partition(":")
        step = await _svc(info).store.get_step(run_id, step_id)
        if step is None:
            return None
        memo: Any = step["memo"]
        if isinstance(memo, dict) and set(memo) == {"error"} and isinstance(memo["error"], dict):
            err = memo["error"]
            return SpanOutput(
                data=None,
                error=StepError(
                    message=_str(err.get("message")), name=_str(err.get("name")), stack=_str(err.get("stack"))
                ),
            )
        if isinstance(memo, dict) and set(memo) == {"data"}:
            memo = memo["data"]
        return SpanOutput(data=json.dumps(memo), error=None)

    @strawberry.field
    async def event(self, info: Info, query: EventQuery) -> Event | None:
        svc = _svc(info)
        row = await svc.store.get_event(str(query.event_id))
        if row is None:
            return None
        runs = [await _function_run(svc, r["id"]) for r in row["runs"]]
        return Event(id=strawberry.ID(row["id"]), name=row["name"], function_runs=[r for r in runs if r])


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


schema = strawberry.Schema(query=Query)


class EngineGraphQL(GraphQL[dict[str, Any], None]):
    def __init__(self, engine: EngineService) -> None:
        super().__init__(schema, graphql_ide=None)
        self._engine = engine

    async def get_context(self, request: Any, response: Any) -> dict[str, Any]:
        return {"request": request, "response": response, "engine": self._engine}
