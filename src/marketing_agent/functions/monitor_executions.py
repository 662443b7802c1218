"""``monitor-executions``: every 5 minutes, alert about skill runs stuck in ``running``.

Steps: ``check-stuck-runs`` asks the services to record one alert per run that has been ``running``
longer than ``STUCK_RUN_THRESHOLD_SECONDS`` and has no alert yet — so a stuck run raises exactly one alert,
not one every 5 minutes; a retry of the step gets back the alerts its function run recorded and did not
deliver yet — and then ``deliver-alert-<alert id>-<channel>`` sends each new alert (run id and
its link ``{api}/api/v1/runs/{id}``) to each ``ALERT_CHANNELS`` entry, one step per alert and channel so one
failure retries alone.
"""

from __future__ import annotations

from typing import Any

import inngest

from marketing_agent.functions._common import alert_from_json, alert_to_json, deliver_alert
from marketing_agent.functions.deps import FunctionDeps

FUNCTION_ID = "monitor-executions"
RETRIES = 1
CRON = "*/5 * * * *"


def build_monitor_executions(client: inngest.Inngest, deps: FunctionDeps) -> inngest.Function[Any]:
    threshold = deps.settings.stuck_run_threshold_seconds

    @client.create_function(
        fn_id=FUNCTION_ID,
        name="Monitor stuck runs",
        retries=RETRIES,
        trigger=inngest.TriggerCron(cron=CRON),
    )
    async def monitor_executions(ctx: inngest.Context) -> dict[str, Any]:
        async def check_step() -> list[dict[str, Any]]:
            alerts = await deps.services.record_stuck_run_alerts(threshold, ctx.run_id)
            return [alert_to_json(alert) for alert in alerts]

        alerts = [alert_from_json(raw) for raw in await ctx.step.run("check-stuck-runs", check_step)]
        for alert in alerts:
            ctx.logger.warning("stuck run alert %s: %s", alert.id, alert.title)
            await deliver_alert(ctx, deps.notifications, alert, step_prefix=f"deliver-alert-{alert.id}")
        return {"stuckRunAlerts": [alert.id for alert in alerts]}

    return monitor_executions


__all__ = ["CRON", "FUNCTION_ID", "build_monitor_executions"]
