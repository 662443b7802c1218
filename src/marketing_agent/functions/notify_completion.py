"""``notify-completion``: tell the user a skill run finished (or failed), on every channel they set up.

Triggered by ``skill.execute.completed`` and ``skill.execute.failed``. Steps: ``get-run-data`` (title,
preview, output link or error), ``get-user-channels``, then one step per channel —
``notify-telegram-<channel id>``, ``notify-slack-<id>``, ``notify-email-<id>``, ``notify-webhook-<id>`` — so
a failing channel is retried alone and the others are not sent twice. A run started from the Telegram bot
also gets its "working on it" message edited (``notify-telegram-origin``) instead of a second message in
that chat.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import inngest

from marketing_agent.functions._common import failure_result, is_permanent, send_each, step_safe
from marketing_agent.functions.deps import ChannelTarget, FunctionDeps, RunNotice
from marketing_agent.functions.events import SKILL_EXECUTE_COMPLETED, SKILL_EXECUTE_FAILED

FUNCTION_ID = "notify-completion"
RETRIES = 3
ORIGIN_STEP_ID = "notify-telegram-origin"


def channel_step_id(target: ChannelTarget) -> str:
    """Stable per channel row, so a replay after the user adds a channel still finds earlier steps."""
    return f"notify-{target.channel}-{step_safe(target.id)}"


def origin_label(notice: RunNotice) -> str:
    """The label a user's Telegram channel has when it is the chat the run came from."""
    return f"telegram:{notice.telegram_chat_id}"


def build_notify_completion(client: inngest.Inngest, deps: FunctionDeps) -> inngest.Function[Any]:
    services = deps.services
    notifications = deps.notifications

    @client.create_function(
        fn_id=FUNCTION_ID,
        name="Notify run finished",
        retries=RETRIES,
        trigger=[
            inngest.TriggerEvent(event=SKILL_EXECUTE_COMPLETED),
            inngest.TriggerEvent(event=SKILL_EXECUTE_FAILED),
        ],
    )
    async def notify_completion(ctx: inngest.Context) -> dict[str, Any]:
        run_id = str(ctx.event.data.get("runId") or "")
        if not run_id:
            ctx.logger.error("%s event %s without runId; nothing to notify", ctx.event.name, ctx.event.id)
            return {"notified": []}

        async def run_data_step() -> dict[str, Any]:
            try:
                return {"failed": False, "notice": asdict(await services.get_run_notice(run_id))}
            except Exception as exc:
                if is_permanent(exc):  # the run was deleted meanwhile
                    return failure_result(exc)
                raise

        loaded = await ctx.step.run("get-run-data", run_data_step)
        if loaded["failed"]:
            ctx.logger.warning("run %s: no notification: %s", run_id, loaded["error"])
            return {"runId": run_id, "notified": []}
        notice = RunNotice(**loaded["notice"])
        if notice.workflow_run_id is not None:
            # A workflow stage: the workflow asks for the review and sends one summary at the end.
            ctx.logger.info("run %s is a stage of workflow run %s; no notification", run_id, notice.workflow_run_id)
            return {"runId": run_id, "status": notice.status, "notified": [], "workflowRunId": notice.workflow_run_id}
        if notice.status == "cancelled":
            # The user stopped it themselves; a "failed" notice would only confuse.
            ctx.logger.info("run %s was cancelled; no notification", run_id)
            return {"runId": run_id, "status": notice.status, "notified": []}

        async def channels_step() -> list[dict[str, Any]]:
            return [asdict(target) for target in await services.list_user_channels(notice.user_id)]

        targets = [ChannelTarget(**raw) for raw in await ctx.step.run("get-user-channels", channels_step)]

        from_bot = notice.telegram_chat_id is not None and notice.telegram_message_id is not None
        result: dict[str, Any] = {"runId": run_id, "status": notice.status, "fromBot": from_bot}
        if from_bot:
            # The chat that asked sees its "working on it" message turn into the result, and gets no
            # second message through its channel row.
            origin = ChannelTarget(id="origin", channel="telegram", label=origin_label(notice))
            targets = [t for t in targets if not (t.channel == "telegram" and t.label == origin.label)]

            async def edit(_: ChannelTarget) -> None:
                await notifications.edit_telegram_origin(notice)

            edited = await send_each(ctx, [origin], lambda _: ORIGIN_STEP_ID, edit)
            result["origin"] = edited.to_json()

        async def send(target: ChannelTarget) -> None:
            await notifications.send_run_notice(notice, target)

        deliveries = await send_each(ctx, targets, channel_step_id, send)
        ctx.logger.info("run %s: notified %s", run_id, ", ".join(deliveries.sent) or "no channel")
        return {**result, **deliveries.to_json()}

    return notify_completion


__all__ = ["FUNCTION_ID", "build_notify_completion", "channel_step_id", "origin_label"]
