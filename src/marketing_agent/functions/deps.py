"""What the functions need from the rest of the system, built once at start-up and passed in.

The functions never reach for globals: :func:`marketing_agent.functions.build_functions` closes over one
:class:`FunctionDeps`. Each dependency is a small protocol here so the functions depend on behaviour, not
on modules, and tests can hand in real parts wired to a temporary database and folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from marketing_agent.settings import Settings
from marketing_agent.storage import ObjectStore

if TYPE_CHECKING:
    from marketing_agent.agent.llm import Message
    from marketing_agent.agent.loop import TurnDecision
    from marketing_agent.agent.loop_records import LoopPlan, TurnRecord
    from marketing_agent.agent.tools import ToolOutcome


@dataclass(frozen=True, slots=True)
class SkillOutcome:
    """What one LLM execution produced, as the functions need it (JSON-safe values only)."""

    output: str
    title: str
    tokens_in: int
    tokens_out: int
    cost_usd: float
    model: str
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RunUsage:
    """Tokens and cost of the LLM calls a failed run made before it failed (JSON-safe)."""

    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"tokens_in": self.tokens_in, "tokens_out": self.tokens_out, "cost_usd": self.cost_usd}

    @classmethod
    def from_json(cls, raw: Any) -> RunUsage | None:
        return cls(**raw) if isinstance(raw, dict) else None


@dataclass(frozen=True, slots=True)
class RunNotice:
    """Everything a completion or failure notification says about one skill run."""

    run_id: str
    user_id: str
    skill_name: str
    status: str
    title: str | None = None
    preview: str | None = None
    output_id: str | None = None
    error: str | None = None
    #: The client's name when the run was for one (the notification's ``client`` field).
    client: str | None = None
    #: Telegram chat and "working on it" message when the run was started from the bot.
    telegram_chat_id: str | None = None
    telegram_message_id: int | None = None
    #: Set for a stage's skill run: the workflow notifies its user itself (review requests, final summary).
    workflow_run_id: str | None = None


@dataclass(frozen=True, slots=True)
class ChannelTarget:
    """A place a message goes: one of a user's channels, or one ``ALERT_CHANNELS`` entry.

    Deliberately without the address: step results are stored by the engine and shown in its dashboard,
    and a Slack or webhook URL is a credential. The sending step resolves ``id`` to the address itself.
    """

    id: str
    channel: str  # telegram | slack | email | webhook | log
    label: str  # safe for logs and step ids, e.g. "slack:hooks.slack.com" or "telegram:42"


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """An alert the services recorded and the functions must deliver to ``ALERT_CHANNELS``."""

    id: str
    kind: str
    title: str
    message: str
    links: tuple[str, ...] = ()


class RunServices(Protocol):
    """The skill-run use cases (``marketing_agent.services``); each call is idempotent."""

    async def mark_run_running(self, run_id: str, engine_run_id: str) -> bool:
        """True when the run may proceed; False when it was cancelled, already finished, or is claimed by
        another function run (a duplicate ``skill.execute`` for the same run under another event id).

        ``engine_run_id`` links the skill run to the engine's function run carrying it out. A failed run
        reached by another function run (an engine replay or rerun) is a new attempt: it runs again.
        """
        ...

    async def get_client_slug(self, client_id: str) -> str: ...

    async def record_output(self, run_id: str, *, key: str, title: str, content: str, output_format: str) -> str | None:
        """Insert the run's output row (at most one per run) and return its id; None when the run was
        cancelled (or otherwise ended) meanwhile: it gets no output."""
        ...

    async def mark_run_completed(self, run_id: str, outcome: SkillOutcome) -> bool:
        """True when the run is completed now; False when it was cancelled meanwhile (left alone)."""
        ...

    async def mark_run_failed(self, run_id: str, error: str, usage: RunUsage | None = None) -> bool:
        """True when the run is failed now (by this call or an earlier attempt of it); False when it had
        ended otherwise (cancelled, completed) and was left alone. ``usage``: what the LLM calls made before
        the failure cost, recorded on the run."""
        ...

    async def get_run_notice(self, run_id: str) -> RunNotice: ...

    async def list_user_channels(self, user_id: str) -> Sequence[ChannelTarget]:
        """The user's enabled channels."""
        ...

    async def process_feedback(self, feedback_id: str, engine_run_id: str) -> AlertRecord | None:
        """Update metrics and check the skill's health; the alert when this feedback raised one in the
        function run ``engine_run_id`` (now, or in an earlier attempt of the same step)."""
        ...

    async def record_stuck_run_alerts(self, threshold_seconds: int, engine_run_id: str) -> Sequence[AlertRecord]:
        """One alert per run stuck in ``running`` (recorded the first time, by the function run
        ``engine_run_id``). Returned to that function run until some channel got it — so a retry after a
        crash between the commit and the step's result still delivers it — and never to another one."""
        ...

    async def record_run_trace(self, run_id: str, trace: dict[str, Any]) -> None:
        """Keep the agent loop's turns and tool calls on the run (``GET /runs/{id}`` shows them)."""
        ...


class SkillExecutor(Protocol):
    """Runs one skill through the LLM (``marketing_agent.agent.execute``)."""

    async def __call__(
        self, skill_name: str, message: str, client_slug: str | None, options: dict[str, Any]
    ) -> SkillOutcome:
        """Raise a retryable error for a transient failure and a non-retryable one otherwise."""
        ...


class SectionWriter(Protocol):
    """Small-model mode (``marketing_agent.agent.sectioned``): a run written one required section per step.

    Plans and sections cross the step boundary as the JSON forms of ``SectionPlan`` / ``WrittenSection``.
    Both calls raise a retryable error for a transient failure and a non-retryable one otherwise.
    """

    async def plan(self, skill_name: str, message: str, options: dict[str, Any]) -> dict[str, Any] | None:
        """The plan, or None when the skill has no sections to write one by one (it then runs as one call)."""
        ...

    async def write(
        self,
        skill_name: str,
        message: str,
        client_slug: str | None,
        options: dict[str, Any],
        plan: dict[str, Any],
        index: int,
        written: Sequence[dict[str, Any]],
    ) -> dict[str, Any]:
        """Section ``index`` (0-based) of ``plan``, given the sections ``written`` before it."""
        ...

    def outcome(self, skill_name: str, plan: dict[str, Any], written: Sequence[dict[str, Any]]) -> SkillOutcome:
        """The run's outcome from its sections (pure: it runs again on every replay)."""
        ...


class SkillAgent(Protocol):
    """The agent loop's step work (``marketing_agent.agent.loop.AgentLoop`` behind the catalog)."""

    async def plan(self, skill_name: str, client_slug: str | None, options: dict[str, Any]) -> LoopPlan: ...

    async def turn(
        self,
        plan: LoopPlan,
        message: str,
        client_slug: str | None,
        options: dict[str, Any],
        transcript: list[Message],
        decision: TurnDecision,
    ) -> TurnRecord:
        """One model turn; raises like :class:`SkillExecutor` (retryable or not)."""
        ...

    async def tool(self, client_slug: str | None, name: str, arguments: dict[str, Any]) -> ToolOutcome:
        """One tool call; a tool's own error is its result, not an exception."""
        ...

    async def finish(
        self, plan: LoopPlan, client_slug: str | None, turns: list[TurnRecord], warnings: list[str]
    ) -> SkillOutcome: ...


class Notifications(Protocol):
    """Delivery of completion notices and alerts (``marketing_agent.notify``).

    Every send raises a retryable error when trying again may help and a non-retryable one when it cannot
    (:class:`~marketing_agent.errors.NotificationError` / ``NotificationRejected``).
    """

    async def send_run_notice(self, notice: RunNotice, target: ChannelTarget) -> None:
        """Send the completion (or failure) notice to one of the run owner's channels."""
        ...

    async def edit_telegram_origin(self, notice: RunNotice) -> None:
        """Edit the bot's "working on it" message for a run started from Telegram."""
        ...

    def alert_targets(self) -> Sequence[ChannelTarget]:
        """The usable ``ALERT_CHANNELS`` entries (a misconfigured one is logged and left out)."""
        ...

    async def send_alert(self, alert: AlertRecord, target: ChannelTarget) -> None:
        """Send the alert to one ``ALERT_CHANNELS`` entry, unless it is already marked delivered there."""
        ...

    async def mark_alert_delivered(self, alert: AlertRecord, target: ChannelTarget) -> None:
        """Note that ``target`` got the alert (its own step, after the sending one)."""
        ...


class WorkflowServices(Protocol):
    """The workflow use cases ``workflow-run`` and ``schedule-*`` call, one per step, JSON in and out
    (``functions.workflow_adapters`` implements them over ``services``)."""

    async def start(self, workflow_run_id: str, engine_run_id: str) -> dict[str, Any]: ...

    async def begin_stage(self, workflow_run_id: str, stage: str, attempt: int) -> dict[str, Any] | None: ...

    async def finish_stage(
        self, workflow_run_id: str, stage: str, attempt: int, output_id: str | None, error: str | None, review: bool
    ) -> dict[str, Any]: ...

    async def recorded_review(self, workflow_run_id: str, stage: str, attempt: int) -> dict[str, Any] | None: ...

    async def expire(self, workflow_run_id: str, stage: str) -> dict[str, Any]: ...

    async def finish(self, workflow_run_id: str) -> dict[str, Any]: ...

    async def send_review_request(self, workflow_run_id: str, stage: str, target: ChannelTarget) -> None: ...

    async def send_finished(self, workflow_run_id: str, target: ChannelTarget) -> None: ...

    async def due_schedules(self) -> list[dict[str, Any]]: ...

    async def fire_schedule(self, schedule_id: str, fire_at: str) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class FunctionDeps:
    settings: Settings
    services: RunServices
    store: ObjectStore
    execute: SkillExecutor
    notifications: Notifications
    #: None in unit tests of the other functions; ``build_function_deps`` always sets it.
    workflows: WorkflowServices | None = None
    #: The multi-turn tool loop; None: every run is the single ``execute-skill`` step.
    agent: SkillAgent | None = None
    #: Set when runs go through the offline model: they are then written section by section.
    sections: SectionWriter | None = None
