"""The real implementations of the functions' dependency protocols, over ``services`` and ``notify``.

Each method is one use case (plus the translation of its frozen record into the functions' JSON-safe
records), so the steps stay one call each.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from pydantic import ValidationError

from marketing_agent import services
from marketing_agent.agent.run_options import StoredRunOptions
from marketing_agent.errors import ClientNotFound, ConfigError, Conflict, NotificationRejected
from marketing_agent.functions.deps import AlertRecord, ChannelTarget, RunNotice, RunUsage, SkillOutcome
from marketing_agent.notify import (
    AlertMessage,
    ChannelAddress,
    ChannelKind,
    Notification,
    NotifierRegistry,
    parse_alert_channel,
    run_completed_notification,
    run_failed_notification,
)
from marketing_agent.services import Database
from marketing_agent.settings import Settings

logger = logging.getLogger(__name__)

#: Edits the bot's "working on it" message for a run that came from Telegram (the bot's helper).
TelegramOriginEditor = Callable[[RunNotice], Awaitable[None]]


def _uuid(value: str) -> uuid.UUID:
    return uuid.UUID(value)


def _alert_record(alert: services.Alert, title: str) -> AlertRecord:
    link = alert.details.get("link")
    return AlertRecord(
        id=str(alert.id),
        kind=alert.kind,
        title=title,
        message=alert.message,
        links=(str(link),) if link else (),
    )


def telegram_origin(options: dict[str, object] | None) -> tuple[str | None, int | None]:
    """The chat and "working on it" message of a run the bot (or the original design's bot) started."""
    try:
        return StoredRunOptions.model_validate(options or {}).telegram_origin()
    except ValidationError:  # a run stored before options were checked: no origin to edit
        return None, None


class DatabaseRunServices:
    """:class:`~marketing_agent.functions.deps.RunServices` over the app database."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self._db = db
        self._settings = settings

    async def mark_run_running(self, run_id: str, engine_run_id: str) -> bool:
        run = await services.mark_run_running(self._db, run_id, engine_run_id=engine_run_id)
        return services.run_claimed_by(run, engine_run_id)

    async def get_client_slug(self, client_id: str) -> str:
        slug = await services.get_client_slug(self._db, client_id)
        if slug is None:
            raise ClientNotFound(f"client {client_id} not found")
        return slug

    async def record_output(self, run_id: str, *, key: str, title: str, content: str, output_format: str) -> str | None:
        try:
            output = await services.record_output(
                self._db, run_id, storage_key=key, title=title, content=content, format=output_format
            )
        except Conflict:  # cancelled while the LLM worked: no output
            return None
        return str(output.id)

    async def mark_run_completed(self, run_id: str, outcome: SkillOutcome) -> bool:
        run = await services.mark_run_completed(
            self._db,
            run_id,
            tokens_input=outcome.tokens_in,
            tokens_output=outcome.tokens_out,
            cost_usd=outcome.cost_usd,
            model=outcome.model,
            warnings=outcome.warnings,
        )
        return run.status is services.SkillRunStatus.COMPLETED

    async def mark_run_failed(self, run_id: str, error: str, usage: RunUsage | None = None) -> bool:
        run = await services.mark_run_failed(
            self._db,
            run_id,
            error,
            tokens_input=usage.tokens_in if usage else None,
            tokens_output=usage.tokens_out if usage else None,
            cost_usd=usage.cost_usd if usage else None,
        )
        return run.status is services.SkillRunStatus.FAILED

    async def record_run_trace(self, run_id: str, trace: dict[str, Any]) -> None:
        await services.record_run_trace(self._db, run_id, trace)

    async def get_run_notice(self, run_id: str) -> RunNotice:
        run = await services.get_skill_run(self._db, _uuid(run_id))
        chat, message = telegram_origin(run.options)
        if chat is not None:
            # Only a chat linked to the run's own user gets its result (a forged chat id gets nothing).
            owner = await services.user_for_telegram_chat(self._db, chat)
            if owner is None or owner.id != run.user_id:
                chat, message = None, None
        workflow = (run.options or {}).get("workflow")
        return RunNotice(
            run_id=str(run.id),
            user_id=str(run.user_id),
            skill_name=run.skill_name,
            status=run.status.value,
            title=run.output.title if run.output else None,
            preview=run.output.preview if run.output else None,
            output_id=str(run.output.id) if run.output else None,
            error=run.error_message,
            client=await self._client_name(run.user_id, run.client_id),
            telegram_chat_id=chat,
            telegram_message_id=message,
            workflow_run_id=str(workflow.get("workflowRunId")) if isinstance(workflow, dict) else None,
        )

    async def _client_name(self, user_id: uuid.UUID, client_id: uuid.UUID | None) -> str | None:
        if client_id is None:
            return None
        try:
            return (await services.get_client(self._db, user_id, client_id)).name
        except ClientNotFound:  # deleted since: the notice goes out without it
            return None

    async def list_user_channels(self, user_id: str) -> Sequence[ChannelTarget]:
        channels = await services.list_user_channels(self._db, _uuid(user_id))
        return [
            ChannelTarget(
                id=str(channel.id),
                channel=channel.channel,
                label=ChannelAddress(ChannelKind(channel.channel), channel.address).display_name,
            )
            for channel in channels
        ]

    async def process_feedback(self, feedback_id: str, engine_run_id: str) -> AlertRecord | None:
        outcome = await services.process_feedback(self._db, feedback_id, recorded_by=engine_run_id)
        if outcome.alert is None:
            return None
        # A retried step (the first attempt committed, then crashed before its result was stored) sees
        # alert_created False; an alert this feedback raised in this very function run is still ours to
        # deliver. Another function run (the same feedback processed again after its rating changed) is not.
        details = outcome.alert.details
        ours = outcome.alert_created or (
            details.get("feedbackId") == str(outcome.feedback_id) and details.get("recordedBy") == engine_run_id
        )
        if not ours:
            return None
        average = f"{outcome.recent_average:.2f}" if outcome.recent_average is not None else "n/a"
        title = f"Skill {outcome.skill_name} is rated low (recent average {average}/5)"
        record = _alert_record(outcome.alert, title)
        metrics = f"{self._settings.api_url}/api/v1/skills/{outcome.skill_name}/metrics"
        return replace(record, links=(*record.links, metrics))

    async def record_stuck_run_alerts(self, threshold_seconds: int, engine_run_id: str) -> Sequence[AlertRecord]:
        report = await services.alert_stuck_runs(
            self._db,
            timedelta(seconds=threshold_seconds),
            api_url=self._settings.api_url,
            recorded_by=engine_run_id,
        )
        return [
            _alert_record(alert, f"Skill run {alert.details.get('runId', '?')} is stuck in running")
            for alert in report.undelivered_alerts
        ]


class ChannelNotifications:
    """:class:`~marketing_agent.functions.deps.Notifications` over the notify channels.

    Addresses (and webhook secrets) are looked up inside the sending step, never returned from a step.
    """

    def __init__(
        self,
        settings: Settings,
        db: Database,
        registry: NotifierRegistry,
        *,
        telegram_origin_editor: TelegramOriginEditor | None = None,
    ) -> None:
        self._settings = settings
        self._db = db
        self._registry = registry
        self._edit_origin = telegram_origin_editor

    def _notification(self, notice: RunNotice) -> Notification:
        api = self._settings.api_url
        if notice.status == "completed" and notice.output_id is not None:
            return run_completed_notification(
                run_id=notice.run_id,
                skill=notice.skill_name,
                title=notice.title or f"{notice.skill_name} output",
                preview=notice.preview or "",
                link=services.output_link(self._settings, notice.output_id),
                client=notice.client,
            )
        return run_failed_notification(
            run_id=notice.run_id,
            skill=notice.skill_name,
            error=notice.error or f"the run is {notice.status}",
            link=f"{api}/api/v1/runs/{notice.run_id}",
            client=notice.client,
        )

    async def send_run_notice(self, notice: RunNotice, target: ChannelTarget) -> None:
        channels = await services.list_user_channels(self._db, _uuid(notice.user_id))
        channel = next((c for c in channels if str(c.id) == target.id), None)
        if channel is None:
            raise NotificationRejected(f"channel {target.label} was removed or disabled")
        address = ChannelAddress(ChannelKind(channel.channel), channel.address, secret=channel.secret)
        await self._registry.send(self._notification(notice), address)

    async def edit_telegram_origin(self, notice: RunNotice) -> None:
        if self._edit_origin is not None:
            await self._edit_origin(notice)
            return
        # Without the bot's editor, answer in the same chat with a new message.
        if notice.telegram_chat_id is None:
            return
        address = ChannelAddress(ChannelKind.TELEGRAM, notice.telegram_chat_id)
        await self._registry.send(self._notification(notice), address)

    def _alert_entries(self) -> list[tuple[int, ChannelAddress, str]]:
        """The usable entries with their index and label. Two entries on one host (two Slack webhooks, say)
        would share a display name; the later ones get ``#<n>`` (their 1-based place in ALERT_CHANNELS), so
        each has its own step id and its own mark in ``delivered_channels``."""
        entries: list[tuple[int, ChannelAddress, str]] = []
        seen: set[str] = set()
        for index, entry in enumerate(self._settings.alert_channels):
            try:
                address = parse_alert_channel(entry, self._settings)
            except ConfigError as exc:
                logger.error("ALERT_CHANNELS entry %d ignored: %s", index, exc.message)
                continue
            label = address.display_name
            if label in seen:
                label = f"{label}#{index + 1}"
            seen.add(label)
            entries.append((index, address, label))
        return entries

    def alert_targets(self) -> Sequence[ChannelTarget]:
        return [
            ChannelTarget(id=str(index), channel=address.kind.value, label=label)
            for index, address, label in self._alert_entries()
        ]

    async def send_alert(self, alert: AlertRecord, target: ChannelTarget) -> None:
        """Send unless ``delivered_channels`` already names the target (an earlier function run sent it).

        The mark is written by its own step (:meth:`mark_alert_delivered`), so a database error after the
        send retries only the mark, never the send.
        """
        found = {str(index): (address, label) for index, address, label in self._alert_entries()}.get(target.id)
        if found is None or found[1] != target.label:
            raise NotificationRejected(f"alert channel {target.label} is no longer configured")
        if target.label in (await services.get_alert(self._db, alert.id)).delivered_channels:
            logger.info("alert already delivered; not sent again", extra={"channel": target.label})
            return
        message = AlertMessage(
            key=alert.kind,
            title=alert.title,
            message="\n".join([alert.message, *alert.links]),
            link=alert.links[0] if alert.links else None,
        )
        await self._registry.send(message.to_notification(), found[0])

    async def mark_alert_delivered(self, alert: AlertRecord, target: ChannelTarget) -> None:
        await services.mark_alert_delivered(self._db, alert.id, target.label)
