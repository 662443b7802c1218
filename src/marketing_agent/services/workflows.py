"""Workflow runs: start, read, review, cancel (for users) and the per-step use cases of ``workflow-run``.

The database is the source of truth for a run's state; the durable function ``workflow-run`` moves it on
step by step and the review API only ever moves a stage out of ``awaiting_review``, with a conditional
UPDATE, so a stage is reviewed at most once per attempt whoever asks twice. Every use case the function
calls is idempotent: skill-run ids are derived from (workflow run, stage, attempt), and state changes are
conditional on the state they leave.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from marketing_agent.db.enums import ReviewDecision, SkillRunStatus, StageStatus, WorkflowRunStatus
from marketing_agent.db.models import (
    ClientRow,
    OutputRow,
    SkillRow,
    SkillRunRow,
    WorkflowRunRow,
    WorkflowStageRow,
)
from marketing_agent.db.session import Database
from marketing_agent.db.types import utcnow
from marketing_agent.errors import (
    ClientNotFound,
    Conflict,
    MarketingAgentError,
    ServiceUnavailable,
    ValidationFailed,
    WorkflowRunNotFound,
)
from marketing_agent.services._common import as_uuid, check_page, count
from marketing_agent.services.engine_client import RunCanceller
from marketing_agent.services.events import WORKFLOW_RUN, WORKFLOW_STAGE_REVIEWED, EventSender
from marketing_agent.services.records import Page
from marketing_agent.services.workflow_records import StageState, WorkflowRun
from marketing_agent.settings import Settings
from marketing_agent.storage import ObjectStore
from marketing_agent.workflows import (
    MAX_REVISIONS,
    Revision,
    StageOutput,
    WorkflowCatalog,
    WorkflowDefinition,
    compose_message,
    definition_from_json,
    load_workflow_catalog,
)

logger = logging.getLogger(__name__)

#: Skill runs of a stage get ids derived from (workflow run, stage, attempt): a step re-run finds its run.
STAGE_RUN_NAMESPACE = uuid.UUID("5b0e3c52-8a3f-4c1e-9a57-2f8f0b1d7c11")
NOTES_MAX = 5_000
#: ``options.workflow`` of a stage's skill run: which workflow run and stage it belongs to.
WORKFLOW_OPTION = "workflow"
_ACTIVE = (WorkflowRunStatus.RUNNING.value, WorkflowRunStatus.AWAITING_REVIEW.value)
_SKILL_ACTIVE = (SkillRunStatus.QUEUED.value, SkillRunStatus.RUNNING.value)


def stage_run_id(workflow_run_id: uuid.UUID | str, stage: str, attempt: int) -> uuid.UUID:
    return uuid.uuid5(STAGE_RUN_NAMESPACE, f"{workflow_run_id}:{stage}:{attempt}")


def workflow_event_id(workflow_run_id: uuid.UUID | str) -> str:
    return f"workflow-run-{workflow_run_id}"


async def load_workflows(db: Database, settings: Settings, store: ObjectStore | None) -> WorkflowCatalog:
    """Every valid definition, checked against the enabled skills of the skills table."""
    async with db.transaction() as session:
        names = (await session.scalars(select(SkillRow.name).where(SkillRow.enabled.is_(True)))).all()
    return await load_workflow_catalog(names, settings.workflows_dir, store)


# --- users ---------------------------------------------------------------------------------------------
async def start_workflow_run(
    db: Database,
    events: EventSender,
    user_id: uuid.UUID,
    definition: WorkflowDefinition,
    inputs: Mapping[str, object],
    *,
    client_id: uuid.UUID | None = None,
    schedule_id: uuid.UUID | None = None,
    workflow_run_id: uuid.UUID | None = None,
) -> WorkflowRun:
    """Record the run and its stages (all ``pending``), then send ``workflow.run``.

    With ``workflow_run_id`` (a schedule's fire) an existing run is not created twice; the event is sent
    again with the same id, which the event API deduplicates. When the event is refused the run is failed
    and ServiceUnavailable raised, so no run waits for a function that will never start.
    """
    values = definition.resolve_inputs(inputs)
    run_id = workflow_run_id or uuid.uuid4()
    async with db.transaction() as session:
        if client_id is not None:
            client = await session.get(ClientRow, client_id)
            if client is None or client.user_id != user_id:
                raise ClientNotFound("client not found")
        if await session.get(WorkflowRunRow, run_id) is None:
            now = utcnow()
            session.add(
                WorkflowRunRow(
                    id=run_id,
                    user_id=user_id,
                    workflow=definition.name,
                    client_id=client_id,
                    schedule_id=schedule_id,
                    status=WorkflowRunStatus.RUNNING.value,
                    inputs=values,
                    definition=definition.to_json(),
                    created_at=now,
                    updated_at=now,
                )
            )
            await session.flush()
            for position, stage in enumerate(definition.stages):
                session.add(
                    WorkflowStageRow(
                        workflow_run_id=run_id,
                        name=stage.name,
                        skill=stage.skill,
                        position=position,
                        status=StageStatus.PENDING.value,
                        run_ids=[],
                        revisions=0,
                    )
                )
    data = {"workflowRunId": str(run_id), "workflow": definition.name, "userId": str(user_id)}
    try:
        event_id = await events.send(WORKFLOW_RUN, data, id=workflow_event_id(run_id))
    except MarketingAgentError as exc:
        reason = f"could not start the workflow: {exc.message}"
        await finish_workflow(db, run_id, status=WorkflowRunStatus.FAILED, error=reason)
        raise ServiceUnavailable(reason) from exc
    async with db.transaction() as session:
        await session.execute(
            update(WorkflowRunRow).where(WorkflowRunRow.id == run_id).values(engine_event_id=event_id)
        )
    return await get_workflow_run(db, None, run_id)


async def get_workflow_run(db: Database, user_id: uuid.UUID | None, workflow_run_id: uuid.UUID | str) -> WorkflowRun:
    """A workflow run with its stages; another user's (``user_id`` given) is reported like a missing one."""
    key = as_uuid(workflow_run_id, "workflowRunId")
    async with db.transaction() as session:
        row = await session.get(WorkflowRunRow, key)
        if row is None or (user_id is not None and row.user_id != user_id):
            raise WorkflowRunNotFound("workflow run not found")
        stages = list(
            (await session.scalars(select(WorkflowStageRow).where(WorkflowStageRow.workflow_run_id == key))).all()
        )
    return WorkflowRun.of(row, stages)


async def list_workflow_runs(
    db: Database, user_id: uuid.UUID, *, limit: int = 20, offset: int = 0
) -> Page[WorkflowRun]:
    check_page(limit, offset)
    query = select(WorkflowRunRow).where(WorkflowRunRow.user_id == user_id)
    async with db.transaction() as session:
        total = await count(session, query)
        rows = (
            await session.scalars(
                query.order_by(WorkflowRunRow.created_at.desc(), WorkflowRunRow.id).limit(limit).offset(offset)
            )
        ).all()
        stages = (
            await session.scalars(
                select(WorkflowStageRow).where(WorkflowStageRow.workflow_run_id.in_([r.id for r in rows]))
            )
        ).all()
    by_run: dict[uuid.UUID, list[WorkflowStageRow]] = {}
    for stage in stages:
        by_run.setdefault(stage.workflow_run_id, []).append(stage)
    return Page([WorkflowRun.of(r, by_run.get(r.id, [])) for r in rows], total, limit, offset)


async def _recompute_status(session: Any, workflow_run_id: uuid.UUID) -> None:
    """running ⇄ awaiting_review from the stages; a terminal run is left alone."""
    waiting = await session.scalar(
        select(WorkflowStageRow.id).where(
            WorkflowStageRow.workflow_run_id == workflow_run_id,
            WorkflowStageRow.status == StageStatus.AWAITING_REVIEW.value,
        )
    )
    status = WorkflowRunStatus.AWAITING_REVIEW if waiting is not None else WorkflowRunStatus.RUNNING
    await session.execute(
        update(WorkflowRunRow)
        .where(WorkflowRunRow.id == workflow_run_id, WorkflowRunRow.status.in_(_ACTIVE))
        .values(status=status.value, updated_at=utcnow())
    )


async def review_stage(
    db: Database,
    events: EventSender,
    user_id: uuid.UUID,
    workflow_run_id: uuid.UUID,
    stage: str,
    decision: ReviewDecision,
    notes: str | None = None,
) -> WorkflowRun:
    """Record a review of a stage that awaits one (else Conflict), then wake the function with the event."""
    if notes is not None and len(notes) > NOTES_MAX:
        raise ValidationFailed(f"notes must be at most {NOTES_MAX:,} characters", details=[{"field": "notes"}])
    if decision is ReviewDecision.REVISE and not (notes or "").strip():
        raise ValidationFailed("a revision needs notes saying what to change", details=[{"field": "notes"}])
    run = await get_workflow_run(db, user_id, workflow_run_id)
    state = run.stage(stage)
    if state is None:
        raise WorkflowRunNotFound(f"workflow run has no stage {stage!r}")
    if run.status.is_terminal or state.status is not StageStatus.AWAITING_REVIEW:
        raise Conflict(
            f"stage {stage!r} is not awaiting a review "
            f"(it is {state.status.value}; the workflow is {run.status.value})",
            details={"status": state.status.value, "workflowStatus": run.status.value},
        )
    if decision is ReviewDecision.REVISE and state.revisions >= MAX_REVISIONS:
        raise Conflict(f"stage {stage!r} was revised {MAX_REVISIONS} times already; approve or reject it")
    attempt = state.attempt
    new_status = {
        ReviewDecision.APPROVE: StageStatus.APPROVED,
        ReviewDecision.REVISE: StageStatus.REVISING,
        ReviewDecision.REJECT: StageStatus.REJECTED,
    }[decision]
    now = utcnow()
    async with db.transaction() as session:
        changed = await session.execute(
            update(WorkflowStageRow)
            .where(
                WorkflowStageRow.workflow_run_id == run.id,
                WorkflowStageRow.name == stage,
                WorkflowStageRow.status == StageStatus.AWAITING_REVIEW.value,
            )
            .values(
                status=new_status.value,
                decision=decision.value,
                notes=(notes or "").strip() or None,
                reviewed_attempt=attempt,
                revisions=WorkflowStageRow.revisions + (1 if decision is ReviewDecision.REVISE else 0),
                completed_at=now if decision is not ReviewDecision.REVISE else None,
            )
        )
        if changed.rowcount == 0:  # type: ignore[attr-defined]
            raise Conflict(f"stage {stage!r} is not awaiting a review")
        if decision is ReviewDecision.REJECT:
            await session.execute(
                update(WorkflowRunRow)
                .where(WorkflowRunRow.id == run.id, WorkflowRunRow.status.in_(_ACTIVE))
                .values(status=WorkflowRunStatus.REJECTED.value, completed_at=now, updated_at=now)
            )
        else:
            await _recompute_status(session, run.id)
    data = {"workflowRunId": str(run.id), "stage": stage, "decision": decision.value, "attempt": attempt}
    if notes:
        data["notes"] = notes
    try:
        await events.send(WORKFLOW_STAGE_REVIEWED, data, id=f"workflow-review-{run.id}-{stage}-{attempt}")
    except MarketingAgentError as exc:
        # The function re-reads recorded reviews when its wait slice ends, so the review is not lost; but
        # say so rather than pretend it was delivered now.
        logger.warning("review event not sent", extra={"workflow_run_id": str(run.id), "error": exc.message})
    return await get_workflow_run(db, user_id, run.id)


async def cancel_workflow_run(
    db: Database, canceller: RunCanceller, user_id: uuid.UUID, workflow_run_id: uuid.UUID
) -> WorkflowRun:
    """Mark the run cancelled (409 when it already ended), cancel its active skill runs, stop the function."""
    run = await get_workflow_run(db, user_id, workflow_run_id)
    now = utcnow()
    async with db.transaction() as session:
        changed = await session.execute(
            update(WorkflowRunRow)
            .where(WorkflowRunRow.id == run.id, WorkflowRunRow.status.in_(_ACTIVE))
            .values(status=WorkflowRunStatus.CANCELLED.value, completed_at=now, updated_at=now)
        )
        if changed.rowcount == 0:  # type: ignore[attr-defined]
            raise Conflict(f"workflow run is already {run.status.value}", details={"status": run.status.value})
        await _skip_open_stages(session, run.id, now)
        run_ids = [uuid.UUID(r) for s in run.stages for r in s.run_ids]
        active = (
            await session.scalars(
                select(SkillRunRow).where(SkillRunRow.id.in_(run_ids), SkillRunRow.status.in_(_SKILL_ACTIVE))
            )
        ).all()
        engine_ids = [r.engine_run_id for r in active if r.engine_run_id]
        await session.execute(
            update(SkillRunRow)
            .where(SkillRunRow.id.in_([r.id for r in active]), SkillRunRow.status.in_(_SKILL_ACTIVE))
            .values(status=SkillRunStatus.CANCELLED.value, completed_at=now)
        )
    for engine_run_id in [run.engine_run_id, *engine_ids]:
        if engine_run_id:
            try:
                await canceller.cancel(engine_run_id)
            except MarketingAgentError as exc:
                # Already cancelled for us: the function stops at its next step when it sees it.
                logger.warning("engine cancel failed", extra={"engine_run_id": engine_run_id, "error": exc.message})
    return await get_workflow_run(db, user_id, run.id)


async def _skip_open_stages(session: Any, workflow_run_id: uuid.UUID, now: Any) -> None:
    open_states = [s.value for s in StageStatus if not s.is_terminal]
    await session.execute(
        update(WorkflowStageRow)
        .where(WorkflowStageRow.workflow_run_id == workflow_run_id, WorkflowStageRow.status.in_(open_states))
        .values(status=StageStatus.SKIPPED.value, completed_at=now)
    )


# --- the function's steps ------------------------------------------------------------------------------
async def mark_workflow_started(db: Database, workflow_run_id: str, engine_run_id: str) -> WorkflowRun:
    key = as_uuid(workflow_run_id, "workflowRunId")
    async with db.transaction() as session:
        await session.execute(
            update(WorkflowRunRow)
            .where(WorkflowRunRow.id == key, WorkflowRunRow.engine_run_id.is_(None))
            .values(engine_run_id=engine_run_id)
        )
    return await get_workflow_run(db, None, key)


@dataclass(frozen=True, slots=True)
class StageAttempt:
    """A stage's skill run, created and ready to be executed by ``skill-execute``."""

    run_id: str
    user_id: str
    skill_name: str
    message: str
    client_id: str | None
    options: dict[str, Any]


async def _output_of(session: Any, store: ObjectStore, output_id: uuid.UUID | None) -> StageOutput | None:
    if output_id is None:
        return None
    row = await session.get(OutputRow, output_id)
    if row is None:
        return None
    content = (await store.get(row.storage_key)).decode("utf-8", errors="replace")
    return StageOutput(title=row.title, content=content)


async def begin_stage_attempt(
    db: Database, store: ObjectStore, workflow_run_id: str, stage: str, attempt: int
) -> StageAttempt | None:
    """Create the stage's skill run for ``attempt`` (0, then 1… after revisions); None when the workflow
    has ended meanwhile (cancelled, rejected, expired, failed) — the stage is then skipped."""
    key = as_uuid(workflow_run_id, "workflowRunId")
    run_id = stage_run_id(key, stage, attempt)
    now = utcnow()
    async with db.transaction() as session:
        run = await session.get(WorkflowRunRow, key)
        state = await session.scalar(
            select(WorkflowStageRow).where(WorkflowStageRow.workflow_run_id == key, WorkflowStageRow.name == stage)
        )
        if run is None or state is None:
            raise WorkflowRunNotFound(f"workflow run {workflow_run_id} has no stage {stage!r}")
        existing = await session.get(SkillRunRow, run_id)
        if existing is None and run.status not in _ACTIVE:
            await _skip_open_stages(session, key, now)
            return None
        definition = definition_from_json(run.definition)
        spec = definition.stage(stage)
        if spec is None:
            raise WorkflowRunNotFound(f"workflow {run.workflow!r} has no stage {stage!r}")
        if existing is None:
            rows = (
                await session.scalars(
                    select(WorkflowStageRow).where(
                        WorkflowStageRow.workflow_run_id == key, WorkflowStageRow.name.in_(spec.depends_on)
                    )
                )
            ).all()
            outputs = {r.name: out for r in rows if (out := await _output_of(session, store, r.output_id)) is not None}
            revision = None
            if attempt > 0:
                draft = await _output_of(session, store, state.output_id)
                revision = Revision(draft=draft.content if draft else "", notes=state.notes or "")
            message = compose_message(spec, run.inputs, outputs, revision)
            options = {WORKFLOW_OPTION: {"workflowRunId": str(key), "stage": stage, "attempt": attempt}}
            session.add(
                SkillRunRow(
                    id=run_id,
                    user_id=run.user_id,
                    skill_name=spec.skill,
                    client_id=run.client_id,
                    status=SkillRunStatus.QUEUED.value,
                    message=message,
                    options=options,
                    queued_at=now,
                )
            )
            state.run_ids = [*(state.run_ids or []), str(run_id)]
            state.status = (StageStatus.RUNNING if attempt == 0 else StageStatus.REVISING).value
            state.started_at = state.started_at or now
            state.error_message = None
            await session.flush()
            await _recompute_status(session, key)
            existing = await session.get(SkillRunRow, run_id)
            assert existing is not None
    return StageAttempt(
        run_id=str(existing.id),
        user_id=str(existing.user_id),
        skill_name=existing.skill_name,
        message=existing.message,
        client_id=str(existing.client_id) if existing.client_id else None,
        options=dict(existing.options or {}),
    )


async def finish_stage_attempt(
    db: Database,
    workflow_run_id: str,
    stage: str,
    attempt: int,
    *,
    output_id: str | None,
    error: str | None,
    needs_review: bool,
) -> StageState:
    """The stage's skill run ended: ``completed`` (or ``awaiting_review``) with its output, or ``failed``
    (and the workflow with it). A stage of a workflow that ended meanwhile is ``skipped``."""
    key = as_uuid(workflow_run_id, "workflowRunId")
    now = utcnow()
    async with db.transaction() as session:
        run = await session.get(WorkflowRunRow, key)
        state = await session.scalar(
            select(WorkflowStageRow).where(WorkflowStageRow.workflow_run_id == key, WorkflowStageRow.name == stage)
        )
        if run is None or state is None:
            raise WorkflowRunNotFound(f"workflow run {workflow_run_id} has no stage {stage!r}")
        in_flight = (
            state.status in (StageStatus.RUNNING.value, StageStatus.REVISING.value)
            and len(state.run_ids) == attempt + 1
        )
        if in_flight and run.status in _ACTIVE:
            if error is not None or output_id is None:
                state.status = StageStatus.FAILED.value
                state.error_message = error or "the skill run produced no output"
                state.completed_at = now
                run.status = WorkflowRunStatus.FAILED.value
                run.error_message = f"stage {stage!r} failed: {state.error_message}"
                run.completed_at = now
                run.updated_at = now
            else:
                state.output_id = uuid.UUID(output_id)
                if needs_review:
                    state.status = StageStatus.AWAITING_REVIEW.value
                    state.review_requested_at = now
                else:
                    state.status = StageStatus.COMPLETED.value
                    state.completed_at = now
            await session.flush()
            await _recompute_status(session, key)
        elif in_flight:
            if output_id is not None:
                state.output_id = uuid.UUID(output_id)
            state.status = StageStatus.SKIPPED.value
            state.completed_at = now
        await session.flush()
        await session.refresh(state)
        return StageState.of(state)


async def recorded_review(
    db: Database, workflow_run_id: str, stage: str, attempt: int
) -> tuple[ReviewDecision, str | None] | None:
    """The review recorded for ``attempt`` of a stage (a review whose event was missed), if any."""
    run = await get_workflow_run(db, None, workflow_run_id)
    state = run.stage(stage)
    if state is None or state.decision is None:
        return None
    async with db.transaction() as session:
        row = await session.scalar(
            select(WorkflowStageRow).where(WorkflowStageRow.workflow_run_id == run.id, WorkflowStageRow.name == stage)
        )
    if row is None or row.reviewed_attempt != attempt:
        return None
    return state.decision, state.notes


async def finish_workflow(
    db: Database,
    workflow_run_id: uuid.UUID | str,
    *,
    status: WorkflowRunStatus | None = None,
    error: str | None = None,
) -> WorkflowRun:
    """End the run: ``status`` when given (expired, failed), else ``completed`` when every stage finished
    with an output; an already ended run keeps its status. Unfinished stages become ``skipped``."""
    key = as_uuid(workflow_run_id, "workflowRunId")
    now = utcnow()
    async with db.transaction() as session:
        stages = (await session.scalars(select(WorkflowStageRow).where(WorkflowStageRow.workflow_run_id == key))).all()
        if status is None:
            all_done = all(StageStatus(s.status).is_done for s in stages)
            status = WorkflowRunStatus.COMPLETED if all_done else WorkflowRunStatus.FAILED
            if not all_done and error is None:
                error = "not every stage finished"
        await session.execute(
            update(WorkflowRunRow)
            .where(WorkflowRunRow.id == key, WorkflowRunRow.status.in_(_ACTIVE))
            .values(status=status.value, error_message=error, completed_at=now, updated_at=now)
        )
        await _skip_open_stages(session, key, now)
    return await get_workflow_run(db, None, key)


__all__ = [
    "STAGE_RUN_NAMESPACE",
    "WORKFLOW_OPTION",
    "StageAttempt",
    "begin_stage_attempt",
    "cancel_workflow_run",
    "finish_stage_attempt",
    "finish_workflow",
    "get_workflow_run",
    "list_workflow_runs",
    "load_workflows",
    "mark_workflow_started",
    "recorded_review",
    "review_stage",
    "stage_run_id",
    "start_workflow_run",
    "workflow_event_id",
]
