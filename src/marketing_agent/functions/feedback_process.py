"""``feedback-process``: fold one rating into the skill's metrics and alert when the skill degrades.

Steps: ``process-feedback`` (one service call, one database transaction: metrics, then the health check
over the last 10 feedbacks *of that skill*, recording at most one alert per skill per day) and, only when
that call raised a new alert, ``deliver-alert-<channel>``: one step per ``ALERT_CHANNELS`` entry, so a
failing channel is retried alone and the metrics are never touched twice.
"""

from __future__ import annotations

from typing import Any

import inngest

from marketing_agent.functions._common import (
    alert_from_json,
    alert_to_json,
    deliver_alert,
    failure_result,
    is_permanent,
)
from marketing_agent.functions.deps import FunctionDeps
from marketing_agent.functions.events import FeedbackProcess

FUNCTION_ID = "feedback-process"
RETRIES = 2


def build_feedback_process(client: inngest.Inngest, deps: FunctionDeps) -> inngest.Function[Any]:
    services = deps.services

    @client.create_function(
        fn_id=FUNCTION_ID,
        name="Process feedback",
        retries=RETRIES,
        trigger=inngest.TriggerEvent(event=FeedbackProcess.name()),
    )
    async def feedback_process(ctx: inngest.Context) -> dict[str, Any]:
        data = FeedbackProcess.from_event(ctx.event)

        async def process_step() -> dict[str, Any]:
            try:
                alert = await services.process_feedback(data.feedback_id, ctx.run_id)
            except Exception as exc:
                if is_permanent(exc):  # e.g. the feedback was deleted: nothing to retry
                    return failure_result(exc)
                raise
            return {"failed": False, "alert": None if alert is None else alert_to_json(alert)}

        processed = await ctx.step.run("process-feedback", process_step)
        if processed["failed"]:
            ctx.logger.warning("feedback %s not processed: %s", data.feedback_id, processed["error"])
            return {"feedbackId": data.feedback_id, "error": processed["error"]}
        if processed["alert"] is None:
            return {"feedbackId": data.feedback_id, "alert": None}
        alert = alert_from_json(processed["alert"])
        ctx.logger.warning("skill %s is unhealthy; alert %s raised", data.skill_name, alert.id)
        deliveries = await deliver_alert(ctx, deps.notifications, alert, step_prefix="deliver-alert")
        return {"feedbackId": data.feedback_id, "alert": alert.id, **deliveries.to_json()}

    return feedback_process


__all__ = ["FUNCTION_ID", "build_feedback_process"]
