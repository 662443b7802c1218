"""Status and kind vocabularies stored as short strings (portable across SQLite and PostgreSQL)."""

from __future__ import annotations

from enum import StrEnum


class SkillRunStatus(StrEnum):
    """Lifecycle of a skill run (app table ``runs``) — not the engine's function-run status."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in {SkillRunStatus.COMPLETED, SkillRunStatus.FAILED, SkillRunStatus.CANCELLED}


class ChannelKind(StrEnum):
    TELEGRAM = "telegram"
    SLACK = "slack"
    EMAIL = "email"
    WEBHOOK = "webhook"


class FeedbackSource(StrEnum):
    API = "api"
    TELEGRAM = "telegram"
    WEB = "web"


class SkillHealth(StrEnum):
    OK = "ok"
    LOW = "low"


class AlertKind(StrEnum):
    SKILL_HEALTH = "skill-health"
    STUCK_RUN = "stuck-run"


class WorkflowRunStatus(StrEnum):
    """Lifecycle of a workflow run (app table ``workflow_runs``)."""

    RUNNING = "running"
    AWAITING_REVIEW = "awaiting_review"
    COMPLETED = "completed"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        return self not in {WorkflowRunStatus.RUNNING, WorkflowRunStatus.AWAITING_REVIEW}


class StageStatus(StrEnum):
    """Lifecycle of one stage of a workflow run (app table ``workflow_stages``)."""

    PENDING = "pending"
    RUNNING = "running"
    AWAITING_REVIEW = "awaiting_review"
    APPROVED = "approved"
    REVISING = "revising"
    COMPLETED = "completed"
    REJECTED = "rejected"
    FAILED = "failed"
    SKIPPED = "skipped"

    @property
    def is_done(self) -> bool:
        """Finished with an output the next stages can use."""
        return self in {StageStatus.APPROVED, StageStatus.COMPLETED}

    @property
    def is_terminal(self) -> bool:
        return self in {
            StageStatus.APPROVED,
            StageStatus.COMPLETED,
            StageStatus.REJECTED,
            StageStatus.FAILED,
            StageStatus.SKIPPED,
        }


class ReviewDecision(StrEnum):
    APPROVE = "approve"
    REVISE = "revise"
    REJECT = "reject"
