"""Frozen records of workflow runs, their stages, and schedules (what the services hand out)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marketing_agent.db.enums import ReviewDecision, StageStatus, WorkflowRunStatus
from marketing_agent.db.models import ScheduleFireRow, ScheduleRow, WorkflowRunRow, WorkflowStageRow


@dataclass(frozen=True, slots=True)
class StageState:
    name: str
    skill: str
    position: int
    status: StageStatus
    run_ids: tuple[str, ...]
    output_id: uuid.UUID | None
    revisions: int
    decision: ReviewDecision | None
    notes: str | None
    error_message: str | None
    review_requested_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None

    @property
    def attempt(self) -> int:
        """The index of the stage's latest skill run (0 for the first, 1 after one revision…)."""
        return max(len(self.run_ids) - 1, 0)

    @classmethod
    def of(cls, row: WorkflowStageRow) -> StageState:
        return cls(
            name=row.name,
            skill=row.skill,
            position=row.position,
            status=StageStatus(row.status),
            run_ids=tuple(row.run_ids or ()),
            output_id=row.output_id,
            revisions=row.revisions,
            decision=ReviewDecision(row.decision) if row.decision else None,
            notes=row.notes,
            error_message=row.error_message,
            review_requested_at=row.review_requested_at,
            started_at=row.started_at,
            completed_at=row.completed_at,
        )


@dataclass(frozen=True, slots=True)
class WorkflowRun:
    id: uuid.UUID
    user_id: uuid.UUID
    workflow: str
    client_id: uuid.UUID | None
    schedule_id: uuid.UUID | None
    status: WorkflowRunStatus
    inputs: dict[str, Any]
    definition: dict[str, Any]
    error_message: str | None
    engine_event_id: str | None
    engine_run_id: str | None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    stages: tuple[StageState, ...]

    def stage(self, name: str) -> StageState | None:
        return next((s for s in self.stages if s.name == name), None)

    @classmethod
    def of(cls, row: WorkflowRunRow, stages: list[WorkflowStageRow]) -> WorkflowRun:
        return cls(
            id=row.id,
            user_id=row.user_id,
            workflow=row.workflow,
            client_id=row.client_id,
            schedule_id=row.schedule_id,
            status=WorkflowRunStatus(row.status),
            inputs=dict(row.inputs or {}),
            definition=dict(row.definition),
            error_message=row.error_message,
            engine_event_id=row.engine_event_id,
            engine_run_id=row.engine_run_id,
            created_at=row.created_at,
            updated_at=row.updated_at,
            completed_at=row.completed_at,
            stages=tuple(StageState.of(s) for s in sorted(stages, key=lambda s: s.position)),
        )


@dataclass(frozen=True, slots=True)
class ScheduleFire:
    fire_at: datetime
    run_id: uuid.UUID | None
    workflow_run_id: uuid.UUID | None
    error_message: str | None

    @classmethod
    def of(cls, row: ScheduleFireRow) -> ScheduleFire:
        return cls(row.fire_at, row.run_id, row.workflow_run_id, row.error_message)


@dataclass(frozen=True, slots=True)
class Schedule:
    id: uuid.UUID
    user_id: uuid.UUID
    skill_name: str | None
    workflow: str | None
    message: str | None
    inputs: dict[str, Any] | None
    client_id: uuid.UUID | None
    cron: str
    timezone: str
    paused: bool
    next_fire_at: datetime | None
    last_fired_at: datetime | None
    created_at: datetime
    last_runs: tuple[ScheduleFire, ...] = ()

    @classmethod
    def of(cls, row: ScheduleRow, fires: list[ScheduleFireRow] | None = None) -> Schedule:
        return cls(
            id=row.id,
            user_id=row.user_id,
            skill_name=row.skill_name,
            workflow=row.workflow,
            message=row.message,
            inputs=row.inputs,
            client_id=row.client_id,
            cron=row.cron,
            timezone=row.timezone,
            paused=row.paused,
            next_fire_at=row.next_fire_at,
            last_fired_at=row.last_fired_at,
            created_at=row.created_at,
            last_runs=tuple(ScheduleFire.of(f) for f in fires or ()),
        )


__all__ = ["Schedule", "ScheduleFire", "StageState", "WorkflowRun"]
