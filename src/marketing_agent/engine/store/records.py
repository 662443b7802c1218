"""The records that cross the store's boundary, and the statuses, kinds and opcodes they carry.

Every enum is a ``StrEnum`` whose values are what the database holds and the wire carries (run statuses in
upper case as Inngest's API spells them, step statuses in lower case as the dashboard shows them), so a
member compares equal to the stored text and is written as it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any


class RunStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    SKIPPED = "SKIPPED"  # flow control decided not to run it (rate limit, idempotency, singleton, timeouts)


#: A run that has not ended.
ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)


class StepStatus(StrEnum):
    PLANNED = "planned"  # reported by a parallel answer, its own call queued
    RETRYING = "retrying"  # errored, retried later
    COMPLETED = "completed"
    FAILED = "failed"
    SLEEPING = "sleeping"
    WAITING = "waiting"  # for an event
    INVOKING = "invoking"  # a child run


#: Step statuses that keep a run from being called again (parallel steps, sleeps, waits, invokes).
PENDING_STEP_STATUSES = (StepStatus.PLANNED, StepStatus.SLEEPING, StepStatus.WAITING, StepStatus.INVOKING)
#: A step with one of these holds its memo: the SDK is not asked to run it again.
DONE_STEP_STATUSES = (StepStatus.COMPLETED, StepStatus.FAILED)


class QueueKind(StrEnum):
    CALL = "call"  # call the app (target "step": discovery, else the step hash to run)
    SLEEP = "sleep"  # a sleep ends (target: the step)
    WAIT_TIMEOUT = "wait_timeout"  # a wait for an event times out (target: the pause)
    INVOKE_TIMEOUT = "invoke_timeout"  # an invoke times out (target: the pause)
    # flow control's own timers (docs/flow-control.md)
    FLOW_DEBOUNCE = "flow.debounce"
    FLOW_BATCH = "flow.batch"
    FLOW_FINISH = "flow.finish"


class Opcode(StrEnum):
    """The SDK's step opcodes (protocol §5) that the engine applies."""

    STEP_RUN = "StepRun"
    STEP_ERROR = "StepError"
    STEP_FAILED = "StepFailed"
    STEP_PLANNED = "StepPlanned"
    SLEEP = "Sleep"
    WAIT_FOR_EVENT = "WaitForEvent"
    INVOKE_FUNCTION = "InvokeFunction"
    AI_GATEWAY = "AIGateway"


@dataclass(frozen=True)
class QueueItem:
    id: str
    run_id: str
    kind: QueueKind
    target: str  # "step" (discovery) or a step hash; a pause id for timeouts
    attempt: int
    available_at: int
    payload: dict[str, Any] | None = None


def queue_item(row: dict[str, Any]) -> QueueItem:
    payload = row.get("payload")
    return QueueItem(
        id=row["id"],
        run_id=row["run_id"],
        kind=QueueKind(row["kind"]),
        target=row["target"],
        attempt=int(row["attempt"]),
        available_at=int(row["available_at"]),
        payload=json.loads(payload) if payload else None,
    )


#: The ``runs`` columns a :class:`RunRecord` is read from.
RUN_COLUMNS = (
    "id, function_id, app_id, event_id, status, events, parent_run_id, correlation_id, race, step_count,"
    " state_bytes, queued_at, started_at, cron"
)


@dataclass(frozen=True)
class RunRecord:
    """A run as the execution path sees it (the row of ``runs`` without its output)."""

    id: str
    function_id: str
    app_id: str
    event_id: str | None
    status: RunStatus
    events_json: str  # kept as text: the call body embeds it unchanged
    parent_run_id: str | None
    correlation_id: str | None
    race: bool  # a parallel group in race mode: the first step to finish resumes the run
    step_count: int
    state_bytes: int
    queued_at: int
    started_at: int | None
    cron: str | None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    def events(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = json.loads(self.events_json)
        return events

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> RunRecord:
        return cls(
            id=row["id"],
            function_id=row["function_id"],
            app_id=row["app_id"],
            event_id=row["event_id"],
            status=RunStatus(row["status"]),
            events_json=row["events"],
            parent_run_id=row["parent_run_id"],
            correlation_id=row["correlation_id"],
            race=bool(row["race"]),
            step_count=int(row["step_count"]),
            state_bytes=int(row["state_bytes"]),
            queued_at=int(row["queued_at"]),
            started_at=None if row["started_at"] is None else int(row["started_at"]),
            cron=row["cron"],
        )


@dataclass(frozen=True)
class StepRecord:
    """A step of a run: its memo (JSON text, when it has one) and where it stands."""

    step_id: str
    name: str
    op: str
    status: StepStatus
    memo_json: str | None
    opts: dict[str, Any] | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> StepRecord:
        opts = row.get("opts")
        return cls(
            step_id=row["step_id"],
            name=row.get("name") or row["step_id"],
            op=row.get("op") or "",
            status=StepStatus(row["status"]),
            memo_json=(row.get("memo") if row.get("memo") is not None else "null") if row.get("has_memo") else None,
            opts=json.loads(opts) if isinstance(opts, str) else opts,
        )


@dataclass(frozen=True)
class CallState:
    """What a call to the app is built from: the run, its memoized steps as (step hash, memo JSON text) in
    order, and how many of its steps are pending (then the SDK is asked to plan, not to run)."""

    run: RunRecord
    memos: tuple[tuple[str, str], ...]
    pending: int

    def after_step(self, step_id: str, memo_json: str, now: int) -> CallState:
        """The state once ``step_id`` completed with ``memo_json`` and nothing else is pending — what the
        store has just written, so the next call of a sequential run needs no read."""
        run = replace(
            self.run,
            status=RunStatus.RUNNING,
            started_at=self.run.started_at if self.run.started_at is not None else now,
            step_count=self.run.step_count + 1,
            state_bytes=self.run.state_bytes + len(memo_json),
        )
        return CallState(run, (*self.memos, (step_id, memo_json)), 0)
