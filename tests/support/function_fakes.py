"""Stand-ins for what the durable functions call, and a harness around ``inngest.experimental.mocked``.

The fakes implement the protocols in :mod:`marketing_agent.functions.deps` and record every call, so the
functions' unit tests can assert which steps ran and how often. The integration and e2e suites use the
real parts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import inngest
from inngest.experimental import mocked

from marketing_agent.errors import (
    ClientNotFound,
    MarketingAgentError,
    NotFound,
    NotificationError,
    NotificationRejected,
)
from marketing_agent.functions import (
    AlertRecord,
    ChannelTarget,
    FunctionDeps,
    RunNotice,
    RunUsage,
    SkillOutcome,
)
from marketing_agent.storage import MemoryObjectStore


class RecordingClient(mocked.Inngest):
    """The mocked client, remembering what the functions sent (``step.send_event``)."""

    def __init__(self) -> None:
        super().__init__(app_id="marketing-agent", is_production=False)
        self.sent: list[inngest.Event] = []

    async def send(self, events: inngest.Event | list[inngest.Event], *, skip_middleware: bool = False) -> list[str]:
        batch = events if isinstance(events, list) else [events]
        self.sent.extend(batch)
        return [event.id or f"evt-{len(self.sent)}" for event in batch]


@dataclass
class FakeRun:
    user_id: str
    skill_name: str
    status: str = "queued"
    client_id: str | None = None
    error: str | None = None
    outcome: SkillOutcome | None = None
    telegram_chat_id: str | None = None
    telegram_message_id: int | None = None
    engine_run_id: str | None = None


@dataclass
class FakeServices:
    runs: dict[str, FakeRun] = field(default_factory=dict)
    client_slugs: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)  # by run id: unique per run
    channels: dict[str, list[ChannelTarget]] = field(default_factory=dict)
    feedback_alerts: dict[str, AlertRecord | None] = field(default_factory=dict)
    stuck_alerts: list[AlertRecord] = field(default_factory=list)
    calls: list[tuple[str, Any]] = field(default_factory=list)

    async def mark_run_running(self, run_id: str, engine_run_id: str) -> bool:
        self.calls.append(("mark_run_running", run_id))
        if run_id not in self.runs:
            raise NotFound(f"run {run_id} not found")
        run = self.runs[run_id]
        if run.status == "failed" and run.engine_run_id not in (None, engine_run_id):  # a replay: a new attempt
            run.status, run.error, run.engine_run_id = "running", None, engine_run_id
        if run.status in {"completed", "failed", "cancelled"}:
            return False
        run.status = "running"
        run.engine_run_id = run.engine_run_id or engine_run_id
        return True

    async def get_client_slug(self, client_id: str) -> str:
        self.calls.append(("get_client_slug", client_id))
        if client_id not in self.client_slugs:
            raise ClientNotFound(f"client {client_id} not found")
        return self.client_slugs[client_id]

    async def record_output(self, run_id: str, *, key: str, title: str, content: str, output_format: str) -> str | None:
        self.calls.append(("record_output", run_id))
        if run_id not in self.outputs and self.runs[run_id].status not in {"queued", "running"}:
            return None  # as the services: a cancelled run gets no output
        row = self.outputs.setdefault(run_id, {"id": f"out-{run_id}", "key": key, "title": title, "content": content})
        return str(row["id"])

    async def mark_run_completed(self, run_id: str, outcome: SkillOutcome) -> bool:
        self.calls.append(("mark_run_completed", run_id))
        run = self.runs[run_id]
        if run.status in {"queued", "running"}:
            run.status = "completed"
            run.outcome = outcome
        return run.status == "completed"

    async def mark_run_failed(self, run_id: str, error: str, usage: RunUsage | None = None) -> bool:
        self.calls.append(("mark_run_failed", run_id))
        if run_id not in self.runs:
            raise NotFound(f"run {run_id} not found")
        run = self.runs[run_id]
        if run.status in {"queued", "running"}:
            run.status = "failed"
            run.error = error
        return run.status == "failed"

    async def get_run_notice(self, run_id: str) -> RunNotice:
        self.calls.append(("get_run_notice", run_id))
        if run_id not in self.runs:
            raise NotFound(f"run {run_id} not found")
        run = self.runs[run_id]
        output = self.outputs.get(run_id)
        return RunNotice(
            run_id=run_id,
            user_id=run.user_id,
            skill_name=run.skill_name,
            status=run.status,
            title=output["title"] if output else None,
            preview=output["content"][:500] if output else None,
            output_id=output["id"] if output else None,
            error=run.error,
            telegram_chat_id=run.telegram_chat_id,
            telegram_message_id=run.telegram_message_id,
        )

    async def list_user_channels(self, user_id: str) -> Sequence[ChannelTarget]:
        self.calls.append(("list_user_channels", user_id))
        return self.channels.get(user_id, [])

    async def process_feedback(self, feedback_id: str, engine_run_id: str) -> AlertRecord | None:
        self.calls.append(("process_feedback", feedback_id))
        if feedback_id not in self.feedback_alerts:
            raise NotFound(f"feedback {feedback_id} not found")
        # A second call finds the alert already raised today: nothing new.
        return self.feedback_alerts.pop(feedback_id)

    async def record_stuck_run_alerts(self, threshold_seconds: int, engine_run_id: str) -> Sequence[AlertRecord]:
        self.calls.append(("record_stuck_run_alerts", threshold_seconds))
        fresh, self.stuck_alerts = self.stuck_alerts, []
        return fresh


@dataclass
class ScriptedExecutor:
    """Plays back a script: each call takes the next entry (an error to raise or an outcome to return)."""

    script: list[SkillOutcome | Exception] = field(default_factory=list)
    calls: list[tuple[str, str, str | None, dict[str, Any]]] = field(default_factory=list)
    #: Runs before each call with the call's arguments (to change the world mid-step, or raise).
    before_call: Callable[..., None] | None = None

    async def __call__(
        self, skill_name: str, message: str, client_slug: str | None, options: dict[str, Any]
    ) -> SkillOutcome:
        self.calls.append((skill_name, message, client_slug, options))
        if self.before_call is not None:
            self.before_call(skill_name, message, client_slug, options)
        entry = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(entry, Exception):
            raise entry
        return entry


@dataclass
class FakeNotifications:
    alert_channels: list[ChannelTarget] = field(default_factory=list)
    #: label -> errors to raise on the next sends, in order (then success).
    failures: dict[str, list[MarketingAgentError]] = field(default_factory=dict)
    sent: list[tuple[str, str]] = field(default_factory=list)  # (what, label)
    attempts: list[str] = field(default_factory=list)
    delivered: list[tuple[str, str]] = field(default_factory=list)  # (alert id, label), as delivered_channels
    #: Errors to raise on the next marks of an alert as delivered (a database hiccup after the send).
    mark_failures: list[Exception] = field(default_factory=list)

    def _attempt(self, label: str) -> None:
        self.attempts.append(label)
        pending = self.failures.get(label)
        if pending:
            raise pending.pop(0)

    async def send_run_notice(self, notice: RunNotice, target: ChannelTarget) -> None:
        self._attempt(target.label)
        self.sent.append((f"{notice.status}:{notice.run_id}", target.label))

    async def edit_telegram_origin(self, notice: RunNotice) -> None:
        self._attempt("telegram-origin")
        self.sent.append((f"edit:{notice.run_id}", f"telegram:{notice.telegram_chat_id}"))

    def alert_targets(self) -> Sequence[ChannelTarget]:
        return self.alert_channels

    async def send_alert(self, alert: AlertRecord, target: ChannelTarget) -> None:
        if (alert.id, target.label) in self.delivered:  # as the real one: never sent twice
            return
        self._attempt(target.label)
        self.sent.append((f"alert:{alert.id}", target.label))

    async def mark_alert_delivered(self, alert: AlertRecord, target: ChannelTarget) -> None:
        if self.mark_failures:
            raise self.mark_failures.pop(0)
        self.delivered.append((alert.id, target.label))


def rejected(message: str = "chat not found") -> NotificationRejected:
    return NotificationRejected(message)


def transient(message: str = "timeout") -> NotificationError:
    return NotificationError(message)


@dataclass
class Harness:
    client: RecordingClient
    services: FakeServices
    executor: ScriptedExecutor
    notifications: FakeNotifications
    store: MemoryObjectStore
    functions: dict[str, inngest.Function[Any]]
    functions_deps: FunctionDeps
    loop: asyncio.AbstractEventLoop

    def trigger(self, fn_id: str, name: str, data: dict[str, Any], *, ts: int = 1_795_000_000_000) -> Any:
        event = inngest.Event(name=name, data=data, id="evt-1", ts=ts)
        return mocked.trigger(self.functions[fn_id], event, self.client)

    def sent_named(self, name: str) -> list[inngest.Event]:
        return [event for event in self.client.sent if event.name == name]

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)
