"""Wire shapes: camelCase on the wire, snake_case in Python, unknown request fields refused."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from pydantic.alias_generators import to_camel

from marketing_agent.agent.detect import DetectionMethod, OutputType
from marketing_agent.agent.run_options import RunOptions
from marketing_agent.agent.skill import SkillCategory

T = TypeVar("T")


class WireModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, validate_by_alias=True)


class RequestModel(BaseModel):
    """Request bodies: camelCase only, nothing extra (a typo'd field is an error, not silently ignored)."""

    model_config = ConfigDict(alias_generator=to_camel, extra="forbid", validate_by_name=False)


class Envelope(BaseModel, Generic[T]):
    success: Literal[True] = True
    data: T


class ErrorInfo(WireModel):
    code: str
    message: str
    details: Any = None
    request_id: str | None = None


class ErrorEnvelope(BaseModel):
    success: Literal[False] = False
    error: ErrorInfo


# --- skills ------------------------------------------------------------------------------------------
class SkillSummaryOut(WireModel):
    name: str
    description: str
    type: str
    category: SkillCategory | None  # None for a skill written without metadata.category
    trigger_keywords: list[str]
    related_skills: list[str]


class SkillListOut(WireModel):
    skills: list[SkillSummaryOut]
    total: int


class SkillOut(SkillSummaryOut):
    has_rules: bool
    has_subdirectories: bool


class SkillMetricsOut(WireModel):
    skill_name: str
    feedback_count: int
    average_overall_score: float | None
    average_accuracy_score: float | None
    average_quality_score: float | None
    average_usefulness_score: float | None
    average_rule_compliance_score: float | None
    recent_average_score: float | None
    runs_completed: int
    runs_failed: int
    average_tokens_input: float | None
    average_tokens_output: float | None
    average_cost_usd: float | None
    last_feedback_at: datetime | None
    health: Literal["ok", "low"]


# --- clients -----------------------------------------------------------------------------------------
class ClientCreateIn(RequestModel):
    name: StrictStr = Field(min_length=1, max_length=200)
    slug: StrictStr = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")
    description: StrictStr | None = Field(None, max_length=10_000)


class ClientUpdateIn(RequestModel):
    name: StrictStr | None = Field(None, min_length=1, max_length=200)
    description: StrictStr | None = Field(None, max_length=10_000)


class ContextSummaryOut(WireModel):
    has_profile: bool
    has_brand_voice: bool
    has_brand_messaging: bool
    has_primary_icp: bool
    has_product_overview: bool
    has_competitors: bool


class ClientOut(WireModel):
    id: uuid.UUID
    name: str
    slug: str
    description: str | None
    s3_prefix: str
    created_at: datetime
    updated_at: datetime


class ClientDetailOut(ClientOut):
    context_summary: ContextSummaryOut


class ClientListOut(WireModel):
    clients: list[ClientOut]
    total: int
    limit: int
    offset: int


class ContextFileOut(WireModel):
    path: str
    size: int
    modified_at: datetime | None


class ContextFileListOut(WireModel):
    files: list[ContextFileOut]
    total: int


class DeletedOut(WireModel):
    deleted: Literal[True] = True


# --- runs --------------------------------------------------------------------------------------------
class RunCreateIn(RequestModel):
    skill_name: StrictStr = Field(min_length=1, max_length=64)
    message: StrictStr = Field(min_length=1, max_length=10_000)
    client_id: uuid.UUID | None = None
    # RunOptions has no `telegram`: it names the chat the result goes to, and only the bot sets it (for the
    # chat it is in), so here it is an unknown field like any other (422 naming `options.telegram`).
    options: RunOptions | None = None


class DetectIn(RequestModel):
    message: StrictStr = Field(min_length=1, max_length=10_000)


class SkillCandidateOut(WireModel):
    skill: str
    score: float


class DetectionOut(WireModel):
    skill: str | None = Field(description="The skill to run; null when nothing is confident.")
    method: DetectionMethod
    confidence: float = Field(description="0-1.")
    candidates: list[SkillCandidateOut] = Field(description="Ranked, best first.")
    client_id: uuid.UUID | None = Field(description="The user's client named in the message, by name or slug.")
    output_type: OutputType | None = Field(description="The kind of output asked for, e.g. landing-page.")


class RunQueuedOut(WireModel):
    run_id: uuid.UUID
    status: str
    skill: str
    client_id: uuid.UUID | None
    queued_at: datetime
    estimated_wait_time: int = Field(description="Rough seconds until the run starts.")


class RunOutputOut(WireModel):
    id: uuid.UUID
    title: str
    preview: str
    format: str


class RunTurnOut(WireModel):
    """One model turn of the agent loop (step ``llm-turn-N``)."""

    turn: int
    model: str
    stop_reason: str | None
    tokens_input: int
    tokens_output: int
    cost_usd: float | None
    latency_seconds: float
    tool_calls: list[str]  # the step ids of the tool calls this turn asked for
    server_searches: int


class RunToolCallOut(WireModel):
    """One tool call of the agent loop (step ``tool-N-<name>``)."""

    step: str
    name: str
    input: dict[str, Any]
    status: str  # ok | error
    duration_ms: int
    bytes: int
    url: str | None
    http_status: int | None
    error: str | None
    cached: bool


class RunOut(WireModel):
    id: uuid.UUID
    status: str
    skill: str
    client_id: uuid.UUID | None
    message: str
    queued_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    tokens_input: int | None
    tokens_output: int | None
    cost_usd: float | None
    model: str | None
    error_message: str | None
    warnings: list[str]
    engine_run_id: str | None
    output: RunOutputOut | None
    turns: list[RunTurnOut] = []
    tool_calls: list[RunToolCallOut] = []


class RunListItemOut(WireModel):
    id: uuid.UUID
    status: str
    skill: str
    client_id: uuid.UUID | None
    message: str
    queued_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    has_output: bool


class RunListOut(WireModel):
    runs: list[RunListItemOut]
    total: int
    limit: int
    offset: int


# --- outputs and feedback ----------------------------------------------------------------------------
class OutputOut(WireModel):
    id: uuid.UUID
    run_id: uuid.UUID
    skill_name: str | None
    client_id: uuid.UUID | None
    title: str
    preview: str
    format: str
    size_bytes: int
    s3_key: str
    created_at: datetime


class OutputListOut(WireModel):
    outputs: list[OutputOut]
    total: int
    limit: int
    offset: int


class FeedbackIssueIn(RequestModel):
    description: StrictStr = Field(min_length=1, max_length=5_000)
    severity: Literal["high", "medium", "low"]
    suggested_fix: StrictStr | None = Field(None, max_length=5_000)


class FeedbackCreateIn(RequestModel):
    output_id: uuid.UUID
    overall_score: StrictInt = Field(ge=1, le=5)
    accuracy_score: StrictInt | None = Field(None, ge=1, le=5)
    quality_score: StrictInt | None = Field(None, ge=1, le=5)
    usefulness_score: StrictInt | None = Field(None, ge=1, le=5)
    rule_compliance_score: StrictInt | None = Field(None, ge=1, le=5)
    what_worked_well: StrictStr | None = Field(None, max_length=10_000)
    issues: list[FeedbackIssueIn] | None = Field(None, max_length=50)
    comment: StrictStr | None = Field(None, max_length=10_000)
    source: Literal["api", "telegram", "web"] | None = None


class FeedbackIssueOut(WireModel):
    description: str
    severity: str
    suggested_fix: str | None


class FeedbackCreatedOut(WireModel):
    id: uuid.UUID
    output_id: uuid.UUID
    overall_score: int
    created_at: datetime


class FeedbackOut(WireModel):
    id: uuid.UUID
    output_id: uuid.UUID
    skill_name: str
    overall_score: int
    accuracy_score: int | None
    quality_score: int | None
    usefulness_score: int | None
    rule_compliance_score: int | None
    what_worked_well: str | None
    issues: list[FeedbackIssueOut]
    comment: str | None
    source: str
    created_at: datetime


class OutputDetailOut(OutputOut):
    feedback: list[FeedbackOut]


class FeedbackListOut(WireModel):
    feedback: list[FeedbackOut]
    total: int
    limit: int
    offset: int


class DownloadOut(WireModel):
    download_url: str
    expires_at: datetime | None
    filename: str


# --- channels ----------------------------------------------------------------------------------------
class ChannelCreateIn(RequestModel):
    channel: Literal["telegram", "slack", "email", "webhook"]
    address: StrictStr = Field(min_length=1, max_length=2048)
    secret: StrictStr | None = Field(
        None, min_length=16, max_length=256, description="Webhook HMAC key; generated when omitted."
    )


class ChannelVerifyIn(RequestModel):
    code: StrictStr = Field(min_length=1, max_length=64, description="The code e-mailed to the address.")


class ChannelOut(WireModel):
    id: uuid.UUID
    channel: str
    address: str
    enabled: bool
    created_at: datetime


class ChannelCreatedOut(ChannelOut):
    secret: str | None = Field(None, description="Webhook HMAC key, shown only in this answer.")


class ChannelListOut(WireModel):
    channels: list[ChannelOut]
    total: int
