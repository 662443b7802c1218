"""The app's tables (SQLAlchemy 2 declarative models).

Row classes end in ``Row`` so they never collide with the service layer's records (``SkillRun``, ``Output``…)
or the agent's ``Skill``. Only ``db/`` and ``services/`` import this module.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from marketing_agent.db.types import UTCDateTime, utcnow

# Stable constraint names: migrations can refer to them and both databases get the same ones.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(Uuid, primary_key=True, default=uuid.uuid4)


def _created() -> Mapped[datetime]:
    return mapped_column(UTCDateTime, nullable=False, default=utcnow)


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = _uuid_pk()
    email: Mapped[str] = mapped_column(String(320), nullable=False, unique=True)
    api_key_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = _created()


class UserChannelRow(Base):
    __tablename__ = "user_channels"
    __table_args__ = (
        UniqueConstraint("user_id", "channel", "address", name="uq_user_channels_user_channel_address"),
        Index("ix_user_channels_channel_address", "channel", "address"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    channel: Mapped[str] = mapped_column(String(16), nullable=False)
    address: Mapped[str] = mapped_column(String(2048), nullable=False)
    secret: Mapped[str | None] = mapped_column(String(256), nullable=True)  # webhook HMAC key
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = _created()


class ClientRow(Base):
    __tablename__ = "clients"
    __table_args__ = (UniqueConstraint("user_id", "slug", name="uq_clients_user_slug"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    slug: Mapped[str] = mapped_column(String(64), nullable=False)
    # The folder under clients/ in object storage. Slugs are unique per user only, so two users' "acme"
    # must not share files: the second one gets a suffixed folder (see services.clients).
    storage_slug: Mapped[str] = mapped_column(String(80), nullable=False, unique=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class SkillRow(Base):
    __tablename__ = "skills"

    id: Mapped[uuid.UUID] = _uuid_pk()
    name: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    type: Mapped[str] = mapped_column(String(64), nullable=False, default="general")
    # a SkillCategory value; NULL for a skill written without one
    category: Mapped[str | None] = mapped_column(String(32), nullable=True)
    source: Mapped[str] = mapped_column(String(16), nullable=False)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    trigger_keywords: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    related_skills: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    has_rules: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    has_subdirectories: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class SkillRunRow(Base):
    """A skill run: what a user asked for. Carried out by one engine function run (``engine_run_id``)."""

    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_user_queued", "user_id", "queued_at"),
        Index("ix_runs_user_status", "user_id", "status"),
        Index("ix_runs_status_started", "status", "started_at"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    skill_name: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("clients.id", ondelete="SET NULL"), nullable=True, index=True
    )
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    message: Mapped[str] = mapped_column(Text, nullable=False)
    options: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    tokens_input: Mapped[int | None] = mapped_column(Integer, nullable=True)
    tokens_output: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cost_usd: Mapped[float | None] = mapped_column(Float, nullable=True)
    model: Mapped[str | None] = mapped_column(String(128), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    warnings: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    # the agent loop's turns and tool calls (functions.skill_loop); None for a run without tools
    agent_trace: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    engine_event_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    engine_run_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class OutputRow(Base):
    __tablename__ = "outputs"

    id: Mapped[uuid.UUID] = _uuid_pk()
    # One output per run: a step retried after a crash finds the row instead of adding a second one.
    run_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    storage_key: Mapped[str] = mapped_column(String(1024), nullable=False, unique=True)
    format: Mapped[str] = mapped_column(String(32), nullable=False, default="markdown")
    title: Mapped[str] = mapped_column(String(500), nullable=False)
    preview: Mapped[str] = mapped_column(Text, nullable=False)
    size_bytes: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = _created()


class FeedbackRow(Base):
    __tablename__ = "feedback"
    __table_args__ = (Index("ix_feedback_skill_created", "skill_name", "created_at"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    output_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("outputs.id", ondelete="CASCADE"), nullable=False, index=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    # Copied from the run so the health check can read "the last 10 feedbacks of this skill" directly.
    skill_name: Mapped[str] = mapped_column(String(64), nullable=False)
    overall_score: Mapped[int] = mapped_column(Integer, nullable=False)
    accuracy_score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    quality_score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    usefulness_score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rule_compliance_score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    what_worked_well: Mapped[str | None] = mapped_column(Text, nullable=True)
    issues: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    source: Mapped[str] = mapped_column(String(16), nullable=False, default="api")
    created_at: Mapped[datetime] = _created()
    # Set once the metrics include this feedback: makes process_feedback safe to retry.
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SkillMetricsRow(Base):
    """Running sums per skill; averages are derived (sum / count) so updates stay one UPDATE each."""

    __tablename__ = "skill_metrics"

    skill_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    feedback_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    overall_sum: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    accuracy_sum: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    accuracy_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    quality_sum: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    quality_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    usefulness_sum: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    usefulness_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rule_compliance_sum: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rule_compliance_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    recent_average: Mapped[float | None] = mapped_column(Float, nullable=True)  # last 10 overall scores
    health: Mapped[str] = mapped_column(String(8), nullable=False, default="ok")
    runs_completed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    runs_failed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    tokens_input_total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    tokens_output_total: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    cost_usd_total: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    last_feedback_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class AlertRow(Base):
    __tablename__ = "alerts"

    id: Mapped[uuid.UUID] = _uuid_pk()
    kind: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    # Deduplication key, e.g. ``skill-health:<skill>:<YYYY-MM-DD>`` or ``stuck-run:<run id>``.
    key: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    message: Mapped[str] = mapped_column(Text, nullable=False)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    delivered_channels: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    created_at: Mapped[datetime] = _created()


class WorkflowRunRow(Base):
    """One run of a workflow: the definition as it was at start (so editing the file never changes a run),
    its inputs, and the engine's function run of ``workflow-run`` carrying it out."""

    __tablename__ = "workflow_runs"
    __table_args__ = (Index("ix_workflow_runs_user_created", "user_id", "created_at"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    workflow: Mapped[str] = mapped_column(String(64), nullable=False)
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("clients.id", ondelete="SET NULL"), nullable=True
    )
    schedule_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("schedules.id", ondelete="SET NULL"), nullable=True, index=True
    )
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    engine_event_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    engine_run_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WorkflowStageRow(Base):
    """The state of one stage of a workflow run; ``attempt`` counts its skill runs (1 + revisions)."""

    __tablename__ = "workflow_stages"
    __table_args__ = (UniqueConstraint("workflow_run_id", "name", name="uq_workflow_stages_run_name"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    workflow_run_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("workflow_runs.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    skill: Mapped[str] = mapped_column(String(64), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    run_ids: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    output_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("outputs.id", ondelete="SET NULL"), nullable=True
    )
    revisions: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    #: The last review: its decision, the reviewer's notes and which attempt it was about.
    decision: Mapped[str | None] = mapped_column(String(16), nullable=True)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    reviewed_attempt: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    review_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ScheduleRow(Base):
    """A cron schedule that starts a skill run (``skill_name`` + ``message``) or a workflow (+ ``inputs``)."""

    __tablename__ = "schedules"
    __table_args__ = (Index("ix_schedules_due", "paused", "next_fire_at"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    skill_name: Mapped[str | None] = mapped_column(String(64), nullable=True)
    workflow: Mapped[str | None] = mapped_column(String(64), nullable=True)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    inputs: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("clients.id", ondelete="SET NULL"), nullable=True
    )
    cron: Mapped[str] = mapped_column(String(120), nullable=False)
    timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    paused: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    next_fire_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class ScheduleFireRow(Base):
    """One fire of a schedule. Unique per schedule and fire time: a fire is started at most once, whatever
    number of engines or restarts deliver it."""

    __tablename__ = "schedule_fires"
    __table_args__ = (UniqueConstraint("schedule_id", "fire_at", name="uq_schedule_fires_schedule_fire_at"),)

    id: Mapped[uuid.UUID] = _uuid_pk()
    schedule_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("schedules.id", ondelete="CASCADE"), nullable=False)
    fire_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    run_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    workflow_run_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = _created()
