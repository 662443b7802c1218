"""The events the functions consume and emit, in the seed's wire shape.

Field names are camelCase on the wire (``runId``, ``skillName``…) so producers and consumers written against
the original design interoperate; Python code uses snake_case through pydantic aliases. Always serialize
with :meth:`EventData.to_wire` (``by_alias``, ``None`` fields dropped) and parse with
:meth:`EventData.from_event`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

import inngest
from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from marketing_agent.services.events import (
    FEEDBACK_PROCESS,
    SCHEDULE_FIRED,
    SKILL_EXECUTE,
    SKILL_EXECUTE_COMPLETED,
    SKILL_EXECUTE_FAILED,
    WORKFLOW_RUN,
    WORKFLOW_STAGE_REVIEWED,
)

#: Emitted by the engine (and Inngest) when a function run fails for good; on_failure handlers listen to it.
FUNCTION_FAILED = "inngest/function.failed"


class EventData(BaseModel):
    """Base of every event payload: camelCase aliases, snake_case attributes, unknown fields kept."""

    # extra="allow": a newer producer may add fields; an older consumer must not reject the event.
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow", frozen=True)

    #: The event name this payload belongs to; every subclass sets it.
    NAME: ClassVar[str] = ""

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    def to_event(self, *, event_id: str | None = None) -> inngest.Event:
        """An SDK event; ``event_id`` makes the send idempotent (the event API deduplicates ids for 24 h)."""
        return inngest.Event(name=self.name(), data=self.to_wire(), id=event_id or "")

    @classmethod
    def name(cls) -> str:
        if not cls.NAME:
            raise TypeError(f"{cls.__name__} has no event name")
        return cls.NAME

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        return cls.model_validate(dict(data))

    @classmethod
    def from_event(cls, event: inngest.Event) -> Self:
        return cls.from_data(event.data)


class SkillExecute(EventData):
    """``skill.execute``: a skill run was queued and should be carried out."""

    NAME: ClassVar[str] = SKILL_EXECUTE
    run_id: str
    skill_name: str
    user_message: str
    user_id: str
    client_id: str | None = None
    options: dict[str, Any] | None = None


class SkillExecuteCompleted(EventData):
    """``skill.execute.completed``: the run finished and its output is stored."""

    NAME: ClassVar[str] = SKILL_EXECUTE_COMPLETED
    run_id: str
    output_id: str
    s3_key: str


class SkillExecuteFailed(EventData):
    """``skill.execute.failed``: the run failed for good (``retryable`` says whether a new run could help)."""

    NAME: ClassVar[str] = SKILL_EXECUTE_FAILED
    run_id: str
    error: str
    retryable: bool = False


class FeedbackProcess(EventData):
    """``feedback.process``: a user rated an output; update metrics and check the skill's health."""

    NAME: ClassVar[str] = FEEDBACK_PROCESS
    feedback_id: str
    skill_name: str


class WorkflowRunStarted(EventData):
    """``workflow.run``: a workflow run was recorded (its stages ``pending``) and should be carried out."""

    NAME: ClassVar[str] = WORKFLOW_RUN
    workflow_run_id: str
    workflow: str
    user_id: str


class WorkflowStageReviewed(EventData):
    """``workflow.stage.reviewed``: a person decided on a stage (``stage: "*"`` + ``ended``: the run ended)."""

    NAME: ClassVar[str] = WORKFLOW_STAGE_REVIEWED
    workflow_run_id: str
    stage: str
    decision: str | None = None
    notes: str | None = None
    attempt: int | None = None
    ended: bool | None = None


class ScheduleFired(EventData):
    """``schedule.fired``: a schedule is due at ``fireAt`` (ISO 8601, UTC); the event id names both."""

    NAME: ClassVar[str] = SCHEDULE_FIRED
    schedule_id: str
    fire_at: str


__all__ = [
    "FEEDBACK_PROCESS",
    "FUNCTION_FAILED",
    "SCHEDULE_FIRED",
    "SKILL_EXECUTE",
    "SKILL_EXECUTE_COMPLETED",
    "SKILL_EXECUTE_FAILED",
    "WORKFLOW_RUN",
    "WORKFLOW_STAGE_REVIEWED",
    "EventData",
    "FeedbackProcess",
    "ScheduleFired",
    "SkillExecute",
    "SkillExecuteCompleted",
    "SkillExecuteFailed",
    "WorkflowRunStarted",
    "WorkflowStageReviewed",
]
