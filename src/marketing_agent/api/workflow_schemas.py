"""Wire shapes of workflows, workflow runs and schedules (camelCase on the wire, like the rest)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import Field, StrictStr

from marketing_agent.api.schemas import RequestModel, WireModel
from marketing_agent.services import ReviewDecision, Schedule, StageStatus, WorkflowRun, WorkflowRunStatus
from marketing_agent.workflows import WorkflowDefinition

InputValue = StrictStr | int | float


# --- definitions -------------------------------------------------------------------------------------
class WorkflowInputOut(WireModel):
    name: str
    description: str
    required: bool
    default: str | None


class WorkflowStageOut(WireModel):
    name: str
    skill: str
    description: str
    approval: bool
    context: list[str]
    depends_on: list[str]


class WorkflowOut(WireModel):
    name: str
    description: str
    inputs: list[WorkflowInputOut]
    stages: list[WorkflowStageOut]
    review_timeout_seconds: int

    @classmethod
    def of(cls, d: WorkflowDefinition) -> WorkflowOut:
        return cls(
            name=d.name,
            description=d.description,
            inputs=[
                WorkflowInputOut(name=i.name, description=i.description, required=i.required, default=i.default)
                for i in d.inputs
            ],
            stages=[
                WorkflowStageOut(
                    name=s.name,
                    skill=s.skill,
                    description=s.description,
                    approval=s.approval,
                    context=list(s.context),
                    depends_on=list(s.depends_on),
                )
                for s in d.stages
            ],
            review_timeout_seconds=int(d.review_timeout.total_seconds()),
        )


class WorkflowListOut(WireModel):
    workflows: list[WorkflowOut]
    total: int


# --- runs --------------------------------------------------------------------------------------------
class WorkflowRunCreateIn(RequestModel):
    inputs: dict[str, InputValue] = Field(default_factory=dict)
    client_id: uuid.UUID | None = None


class WorkflowRunQueuedOut(WireModel):
    workflow_run_id: uuid.UUID
    status: WorkflowRunStatus


class StageStateOut(WireModel):
    name: str
    skill: str
    status: StageStatus
    run_ids: list[uuid.UUID]
    output_id: uuid.UUID | None
    revisions: int
    notes: str | None
    error_message: str | None
    review_requested_at: datetime | None
    completed_at: datetime | None


class WorkflowRunOut(WireModel):
    id: uuid.UUID
    workflow: str
    status: WorkflowRunStatus
    inputs: dict[str, str]
    client_id: uuid.UUID | None
    schedule_id: uuid.UUID | None
    error_message: str | None
    engine_run_id: str | None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    stages: list[StageStateOut]

    @classmethod
    def of(cls, r: WorkflowRun) -> WorkflowRunOut:
        return cls(
            id=r.id,
            workflow=r.workflow,
            status=r.status,
            inputs={k: str(v) for k, v in r.inputs.items()},
            client_id=r.client_id,
            schedule_id=r.schedule_id,
            error_message=r.error_message,
            engine_run_id=r.engine_run_id,
            created_at=r.created_at,
            updated_at=r.updated_at,
            completed_at=r.completed_at,
            stages=[
                StageStateOut(
                    name=s.name,
                    skill=s.skill,
                    status=s.status,
                    run_ids=[uuid.UUID(i) for i in s.run_ids],
                    output_id=s.output_id,
                    revisions=s.revisions,
                    notes=s.notes,
                    error_message=s.error_message,
                    review_requested_at=s.review_requested_at,
                    completed_at=s.completed_at,
                )
                for s in r.stages
            ],
        )


class WorkflowRunListOut(WireModel):
    workflow_runs: list[WorkflowRunOut]
    total: int
    limit: int
    offset: int


class ReviewIn(RequestModel):
    decision: ReviewDecision
    notes: StrictStr | None = Field(None, max_length=5_000)


# --- schedules ---------------------------------------------------------------------------------------
class ScheduleCreateIn(RequestModel):
    skill_name: StrictStr | None = Field(None, min_length=1, max_length=64)
    workflow: StrictStr | None = Field(None, min_length=1, max_length=64)
    message: StrictStr | None = Field(None, min_length=1, max_length=10_000)
    inputs: dict[str, InputValue] | None = None
    client_id: uuid.UUID | None = None
    cron: StrictStr = Field(min_length=1, max_length=120)
    timezone: StrictStr = Field(min_length=1, max_length=64)


class ScheduleFireOut(WireModel):
    fire_at: datetime
    run_id: uuid.UUID | None
    workflow_run_id: uuid.UUID | None
    error_message: str | None


class ScheduleOut(WireModel):
    id: uuid.UUID
    kind: Literal["skill", "workflow"]
    skill_name: str | None
    workflow: str | None
    message: str | None
    inputs: dict[str, str | int | float] | None
    client_id: uuid.UUID | None
    cron: str
    timezone: str
    paused: bool
    next_fire_at: datetime | None
    last_fired_at: datetime | None
    created_at: datetime
    last_runs: list[ScheduleFireOut]

    @classmethod
    def of(cls, s: Schedule) -> ScheduleOut:
        return cls(
            id=s.id,
            kind="workflow" if s.workflow else "skill",
            skill_name=s.skill_name,
            workflow=s.workflow,
            message=s.message,
            inputs=s.inputs,
            client_id=s.client_id,
            cron=s.cron,
            timezone=s.timezone,
            paused=s.paused,
            next_fire_at=None if s.paused else s.next_fire_at,
            last_fired_at=s.last_fired_at,
            created_at=s.created_at,
            last_runs=[
                ScheduleFireOut(
                    fire_at=f.fire_at, run_id=f.run_id, workflow_run_id=f.workflow_run_id, error_message=f.error_message
                )
                for f in s.last_runs
            ],
        )


class ScheduleListOut(WireModel):
    schedules: list[ScheduleOut]
    total: int
