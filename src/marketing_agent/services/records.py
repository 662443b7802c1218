"""What the service layer hands out: frozen records, never ORM rows (so no session leaks past a use case)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from marketing_agent.agent.skill import SkillCategory
from marketing_agent.db.enums import SkillHealth, SkillRunStatus
from marketing_agent.db.models import (
    AlertRow,
    ClientRow,
    FeedbackRow,
    OutputRow,
    SkillMetricsRow,
    SkillRow,
    SkillRunRow,
    UserChannelRow,
    UserRow,
)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class User:
    id: uuid.UUID
    email: str
    created_at: datetime

    @classmethod
    def of(cls, row: UserRow) -> User:
        return cls(id=row.id, email=row.email, created_at=row.created_at)


@dataclass(frozen=True, slots=True)
class CreatedUser:
    user: User
    api_key: str  # shown once; only its SHA-256 hash is stored


@dataclass(frozen=True, slots=True)
class Channel:
    id: uuid.UUID
    user_id: uuid.UUID
    channel: str
    address: str
    secret: str | None
    enabled: bool
    created_at: datetime

    @classmethod
    def of(cls, row: UserChannelRow) -> Channel:
        return cls(
            id=row.id,
            user_id=row.user_id,
            channel=row.channel,
            address=row.address,
            secret=row.secret,
            enabled=row.enabled,
            created_at=row.created_at,
        )


@dataclass(frozen=True, slots=True)
class Client:
    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    slug: str
    storage_slug: str  # the folder under clients/ in object storage
    description: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def storage_prefix(self) -> str:
        return f"clients/{self.storage_slug}/"

    @classmethod
    def of(cls, row: ClientRow) -> Client:
        return cls(
            id=row.id,
            user_id=row.user_id,
            name=row.name,
            slug=row.slug,
            storage_slug=row.storage_slug,
            description=row.description,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@dataclass(frozen=True, slots=True)
class ContextSummary:
    has_profile: bool
    has_brand_voice: bool
    has_brand_messaging: bool
    has_primary_icp: bool
    has_product_overview: bool
    has_competitors: bool


@dataclass(frozen=True, slots=True)
class ContextFile:
    path: str  # relative to the client's folder, e.g. ``brand/voice.md``
    size: int
    modified: datetime | None


@dataclass(frozen=True, slots=True)
class SkillInfo:
    name: str
    description: str
    type: str
    category: SkillCategory | None
    source: str
    enabled: bool
    trigger_keywords: list[str]
    related_skills: list[str]
    has_rules: bool
    has_subdirectories: bool

    @classmethod
    def of(cls, row: SkillRow) -> SkillInfo:
        return cls(
            name=row.name,
            description=row.description,
            type=row.type,
            category=SkillCategory(row.category) if row.category else None,
            source=row.source,
            enabled=row.enabled,
            trigger_keywords=list(row.trigger_keywords or []),
            related_skills=list(row.related_skills or []),
            has_rules=row.has_rules,
            has_subdirectories=row.has_subdirectories,
        )


@dataclass(frozen=True, slots=True)
class Output:
    id: uuid.UUID
    run_id: uuid.UUID
    storage_key: str
    format: str
    title: str
    preview: str
    size_bytes: int
    created_at: datetime
    skill_name: str | None = None
    client_id: uuid.UUID | None = None

    @classmethod
    def of(cls, row: OutputRow, run: SkillRunRow | None = None) -> Output:
        return cls(
            id=row.id,
            run_id=row.run_id,
            storage_key=row.storage_key,
            format=row.format,
            title=row.title,
            preview=row.preview,
            size_bytes=row.size_bytes,
            created_at=row.created_at,
            skill_name=run.skill_name if run else None,
            client_id=run.client_id if run else None,
        )


@dataclass(frozen=True, slots=True)
class SkillRun:
    """A skill run (app table ``runs``); its engine counterpart is the function run ``engine_run_id``."""

    id: uuid.UUID
    user_id: uuid.UUID
    skill_name: str
    client_id: uuid.UUID | None
    status: SkillRunStatus
    message: str
    options: dict[str, Any] | None
    tokens_input: int | None
    tokens_output: int | None
    cost_usd: float | None
    model: str | None
    error_message: str | None
    warnings: list[str]
    agent_trace: dict[str, Any] | None
    engine_event_id: str | None
    engine_run_id: str | None
    queued_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    output: Output | None = None

    @classmethod
    def of(cls, row: SkillRunRow, output: OutputRow | None = None) -> SkillRun:
        return cls(
            id=row.id,
            user_id=row.user_id,
            skill_name=row.skill_name,
            client_id=row.client_id,
            status=SkillRunStatus(row.status),
            message=row.message,
            options=row.options,
            tokens_input=row.tokens_input,
            tokens_output=row.tokens_output,
            cost_usd=row.cost_usd,
            model=row.model,
            error_message=row.error_message,
            warnings=list(row.warnings or []),
            agent_trace=row.agent_trace,
            engine_event_id=row.engine_event_id,
            engine_run_id=row.engine_run_id,
            queued_at=row.queued_at,
            started_at=row.started_at,
            completed_at=row.completed_at,
            output=Output.of(output, row) if output is not None else None,
        )


@dataclass(frozen=True, slots=True)
class FeedbackIssue:
    description: str
    severity: str  # high | medium | low
    suggested_fix: str | None = None


@dataclass(frozen=True, slots=True)
class Feedback:
    id: uuid.UUID
    output_id: uuid.UUID
    user_id: uuid.UUID
    skill_name: str
    overall_score: int
    accuracy_score: int | None
    quality_score: int | None
    usefulness_score: int | None
    rule_compliance_score: int | None
    what_worked_well: str | None
    issues: list[FeedbackIssue]
    comment: str | None
    source: str
    created_at: datetime
    processed_at: datetime | None

    @classmethod
    def of(cls, row: FeedbackRow) -> Feedback:
        return cls(
            id=row.id,
            output_id=row.output_id,
            user_id=row.user_id,
            skill_name=row.skill_name,
            overall_score=row.overall_score,
            accuracy_score=row.accuracy_score,
            quality_score=row.quality_score,
            usefulness_score=row.usefulness_score,
            rule_compliance_score=row.rule_compliance_score,
            what_worked_well=row.what_worked_well,
            issues=[
                FeedbackIssue(
                    description=str(item.get("description", "")),
                    severity=str(item.get("severity", "medium")),
                    suggested_fix=item.get("suggestedFix"),
                )
                for item in (row.issues or [])
            ],
            comment=row.comment,
            source=row.source,
            created_at=row.created_at,
            processed_at=row.processed_at,
        )


def _avg(total: float, count: int) -> float | None:
    return total / count if count else None  # no data, no division


@dataclass(frozen=True, slots=True)
class SkillMetrics:
    skill_name: str
    feedback_count: int
    average_overall: float | None
    average_accuracy: float | None
    average_quality: float | None
    average_usefulness: float | None
    average_rule_compliance: float | None
    recent_average: float | None
    runs_completed: int
    runs_failed: int
    average_tokens_input: float | None
    average_tokens_output: float | None
    average_cost_usd: float | None
    last_feedback_at: datetime | None
    health: SkillHealth

    @classmethod
    def empty(cls, skill_name: str) -> SkillMetrics:
        return cls.of(SkillMetricsRow(skill_name=skill_name), empty=True)

    @classmethod
    def of(cls, row: SkillMetricsRow, *, empty: bool = False) -> SkillMetrics:
        def n(value: int | None) -> int:
            return 0 if empty or value is None else value

        completed = n(row.runs_completed)
        return cls(
            skill_name=row.skill_name,
            feedback_count=n(row.feedback_count),
            average_overall=_avg(n(row.overall_sum), n(row.feedback_count)),
            average_accuracy=_avg(n(row.accuracy_sum), n(row.accuracy_count)),
            average_quality=_avg(n(row.quality_sum), n(row.quality_count)),
            average_usefulness=_avg(n(row.usefulness_sum), n(row.usefulness_count)),
            average_rule_compliance=_avg(n(row.rule_compliance_sum), n(row.rule_compliance_count)),
            recent_average=None if empty else row.recent_average,
            runs_completed=completed,
            runs_failed=n(row.runs_failed),
            average_tokens_input=_avg(n(row.tokens_input_total), completed),
            average_tokens_output=_avg(n(row.tokens_output_total), completed),
            average_cost_usd=_avg(0.0 if empty else (row.cost_usd_total or 0.0), completed),
            last_feedback_at=None if empty else row.last_feedback_at,
            health=SkillHealth.OK if empty else SkillHealth(row.health or SkillHealth.OK),
        )


@dataclass(frozen=True, slots=True)
class Alert:
    id: uuid.UUID
    kind: str
    key: str
    message: str
    details: dict[str, Any]
    delivered_channels: list[str]
    created_at: datetime

    @classmethod
    def of(cls, row: AlertRow) -> Alert:
        return cls(
            id=row.id,
            kind=row.kind,
            key=row.key,
            message=row.message,
            details=dict(row.details or {}),
            delivered_channels=list(row.delivered_channels or []),
            created_at=row.created_at,
        )


@dataclass(frozen=True, slots=True)
class FeedbackOutcome:
    """What :func:`process_feedback` did: the updated metrics and, when health is low, the day's alert."""

    feedback_id: uuid.UUID
    skill_name: str
    already_processed: bool
    metrics: SkillMetrics
    recent_average: float | None
    alert: Alert | None = None
    alert_created: bool = False  # True only the first time today: send it to ALERT_CHANNELS then


@dataclass(frozen=True, slots=True)
class StuckRunReport:
    stuck_runs: list[SkillRun] = field(default_factory=list)
    new_alerts: list[Alert] = field(default_factory=list)  # one per run, only the first time it is seen
    #: The stuck runs' alerts no channel has got yet (the new ones, and any an earlier attempt recorded).
    undelivered_alerts: list[Alert] = field(default_factory=list)
