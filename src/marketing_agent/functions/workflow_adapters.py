""":class:`~marketing_agent.functions.deps.WorkflowServices` over ``services`` and ``notify``.

Each method is one use case plus the translation of its record into JSON for the engine's memo. Addresses
are looked up inside the sending step and never returned from a step.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from typing import Any

from marketing_agent import services
from marketing_agent.bot import callbacks
from marketing_agent.errors import NotificationRejected
from marketing_agent.functions.deps import ChannelTarget
from marketing_agent.notify import (
    ChannelAddress,
    ChannelKind,
    Notification,
    NotificationAction,
    NotificationKind,
    NotifierRegistry,
)
from marketing_agent.services import Database, EventSender
from marketing_agent.services.workflow_records import WorkflowRun
from marketing_agent.settings import Settings
from marketing_agent.storage import ObjectStore

logger = logging.getLogger(__name__)

PREVIEW_CHARS = 1_500


def _stage_json(run: WorkflowRun, name: str) -> dict[str, Any]:
    state = run.stage(name)
    assert state is not None
    return {
        "status": state.status.value,
        "outputId": str(state.output_id) if state.output_id else None,
        "attempt": state.attempt,
        "workflowStatus": run.status.value,
    }


class DatabaseWorkflowServices:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        store: ObjectStore,
        registry: NotifierRegistry,
        events: EventSender,
    ) -> None:
        self._settings = settings
        self._db = db
        self._store = store
        self._registry = registry
        self._events = events

    # --- workflow-run ----------------------------------------------------------------------------------
    async def start(self, workflow_run_id: str, engine_run_id: str) -> dict[str, Any]:
        run = await services.mark_workflow_started(self._db, workflow_run_id, engine_run_id)
        return {"terminal": run.status.is_terminal, "status": run.status.value, "definition": run.definition}

    async def begin_stage(self, workflow_run_id: str, stage: str, attempt: int) -> dict[str, Any] | None:
        began = await services.begin_stage_attempt(self._db, self._store, workflow_run_id, stage, attempt)
        if began is None:
            return None
        event: dict[str, Any] = {
            "runId": began.run_id,
            "skillName": began.skill_name,
            "userMessage": began.message,
            "userId": began.user_id,
            "options": began.options,
        }
        if began.client_id:
            event["clientId"] = began.client_id
        return event

    async def finish_stage(
        self, workflow_run_id: str, stage: str, attempt: int, output_id: str | None, error: str | None, review: bool
    ) -> dict[str, Any]:
        state = await services.finish_stage_attempt(
            self._db, workflow_run_id, stage, attempt, output_id=output_id, error=error, needs_review=review
        )
        return {"status": state.status.value, "outputId": str(state.output_id) if state.output_id else None}

    async def recorded_review(self, workflow_run_id: str, stage: str, attempt: int) -> dict[str, Any] | None:
        run = await services.get_workflow_run(self._db, None, workflow_run_id)
        if run.status.is_terminal and run.status is not services.WorkflowRunStatus.REJECTED:
            return {"ended": True}
        found = await services.recorded_review(self._db, workflow_run_id, stage, attempt)
        if found is None:
            return {"ended": True} if run.status.is_terminal else None
        decision, notes = found
        return {"decision": decision.value, "notes": notes}

    async def expire(self, workflow_run_id: str, stage: str) -> dict[str, Any]:
        run = await services.finish_workflow(
            self._db,
            workflow_run_id,
            status=services.WorkflowRunStatus.EXPIRED,
            error=f"stage {stage!r} was not reviewed in time",
        )
        return {"status": run.status.value}

    async def finish(self, workflow_run_id: str) -> dict[str, Any]:
        run = await services.finish_workflow(self._db, workflow_run_id)
        return {"status": run.status.value, "stages": {s.name: s.status.value for s in run.stages}}

    # --- notifications ----------------------------------------------------------------------------------
    async def _address(self, user_id: uuid.UUID, target: ChannelTarget) -> ChannelAddress:
        channels = await services.list_user_channels(self._db, user_id)
        channel = next((c for c in channels if str(c.id) == target.id), None)
        if channel is None:
            raise NotificationRejected(f"channel {target.label} was removed or disabled")
        return ChannelAddress(ChannelKind(channel.channel), channel.address, secret=channel.secret)

    async def send_review_request(self, workflow_run_id: str, stage: str, target: ChannelTarget) -> None:
        run = await services.get_workflow_run(self._db, None, workflow_run_id)
        state = run.stage(stage)
        if state is None or state.output_id is None:
            raise NotificationRejected(f"stage {stage!r} has no output to review")
        output = await services.get_output(self._db, run.user_id, state.output_id)
        api = self._settings.api_url
        review_url = f"{api}/api/v1/workflow-runs/{run.id}/stages/{stage}/review"
        fields = {"workflow": run.workflow, "stage": stage, "skill": state.skill}
        if state.revisions:
            fields["revision"] = str(state.revisions)
        fields["review"] = f'POST {review_url} {{"decision": "approve" | "revise" | "reject"}}'
        text = (await self._store.get(output.storage_key)).decode("utf-8", errors="replace")
        notice = Notification(
            kind=NotificationKind.WORKFLOW_REVIEW,
            title=f"Review “{stage}” of {run.workflow}: {output.title}",
            body=text[:PREVIEW_CHARS],
            link=services.output_link(self._settings, output.id),
            run_id=str(run.id),
            fields=fields,
            actions=tuple(
                NotificationAction(label, callbacks.stage_review(decision, str(run.id), state.position))
                for label, decision in (("Approve", "approve"), ("Revise", "revise"), ("Reject", "reject"))
            ),
        )
        await self._registry.send(notice, await self._address(run.user_id, target))

    async def send_finished(self, workflow_run_id: str, target: ChannelTarget) -> None:
        run = await services.get_workflow_run(self._db, None, workflow_run_id)
        api = self._settings.api_url
        lines = []
        for state in run.stages:
            link = f" — {services.output_link(self._settings, state.output_id)}" if state.output_id else ""
            lines.append(f"• {state.name} ({state.skill}): {state.status.value}{link}")
        if run.error_message:
            lines.append(f"\n{run.error_message}")
        notice = Notification(
            kind=NotificationKind.WORKFLOW_FINISHED,
            title=f"Workflow {run.workflow} {run.status.value.replace('_', ' ')}",
            body="\n".join(lines),
            link=f"{api}/api/v1/workflow-runs/{run.id}",
            run_id=str(run.id),
            fields={"workflow": run.workflow, "status": run.status.value},
        )
        await self._registry.send(notice, await self._address(run.user_id, target))

    # --- schedules --------------------------------------------------------------------------------------
    async def due_schedules(self) -> list[dict[str, Any]]:
        due = await services.due_schedule_fires(self._db)
        return [{"scheduleId": str(schedule_id), "fireAt": fire_at.isoformat()} for schedule_id, fire_at in due]

    async def fire_schedule(self, schedule_id: str, fire_at: str) -> dict[str, Any]:
        fire = await services.fire_schedule(
            self._db, self._events, self._settings, self._store, schedule_id, datetime.fromisoformat(fire_at)
        )
        return {
            "runId": str(fire.run_id) if fire.run_id else None,
            "workflowRunId": str(fire.workflow_run_id) if fire.workflow_run_id else None,
            "error": fire.error_message,
        }


__all__ = ["DatabaseWorkflowServices"]
