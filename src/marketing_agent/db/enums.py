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
