"""``schedule-tick`` (cron, every minute) and ``schedule-fire`` (one per schedule and fire time).

``schedule-tick``: ``find-due-schedules`` asks the services which schedules are due and at which fire time
(missed fires collapse into the latest), then ``send-fire-events`` sends one ``schedule.fired`` per schedule
with the event id ``schedule-<id>-<fire time>``. The event API drops a repeated id, so a tick that runs
twice (a restart, a second engine) starts nothing twice.

``schedule-fire``: ``start-scheduled-run`` claims the fire in the database (unique per schedule and fire
time: the second line of defence) and starts the skill run or workflow run, whose id is derived from the
schedule and fire time, so a re-run step finds the run it started.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import inngest
from pydantic import ValidationError

from marketing_agent.functions.deps import FunctionDeps
from marketing_agent.functions.events import ScheduleFired
from marketing_agent.services import fired_event_id

TICK_FUNCTION_ID = "schedule-tick"
FIRE_FUNCTION_ID = "schedule-fire"
TICK_CRON = "* * * * *"
RETRIES = 3


def build_schedule_functions(client: inngest.Inngest, deps: FunctionDeps) -> list[inngest.Function[Any]]:
    workflows = deps.workflows
    if workflows is None:
        raise ValueError("the schedule functions need FunctionDeps.workflows")

    @client.create_function(
        fn_id=TICK_FUNCTION_ID,
        name="Start due schedules",
        retries=RETRIES,
        trigger=inngest.TriggerCron(cron=TICK_CRON),
    )
    async def schedule_tick(ctx: inngest.Context) -> dict[str, Any]:
        due = await ctx.step.run("find-due-schedules", workflows.due_schedules)
        if not due:
            return {"fired": []}
        events = [
            ScheduleFired(schedule_id=d["scheduleId"], fire_at=d["fireAt"]).to_event(
                event_id=fired_event_id(d["scheduleId"], datetime.fromisoformat(d["fireAt"]))
            )
            for d in due
        ]
        await ctx.step.send_event("send-fire-events", events)
        ctx.logger.info("schedules due: %s", ", ".join(d["scheduleId"] for d in due))
        return {"fired": due}

    @client.create_function(
        fn_id=FIRE_FUNCTION_ID,
        name="Start a scheduled run",
        retries=RETRIES,
        trigger=inngest.TriggerEvent(event=ScheduleFired.name()),
    )
    async def schedule_fire(ctx: inngest.Context) -> dict[str, Any]:
        try:
            data = ScheduleFired.from_event(ctx.event)
        except ValidationError as exc:
            raise inngest.NonRetriableError(f"invalid {ScheduleFired.name()} event: {exc}") from exc
        started = await ctx.step.run("start-scheduled-run", workflows.fire_schedule, data.schedule_id, data.fire_at)
        return {"scheduleId": data.schedule_id, "fireAt": data.fire_at, **started}

    return [schedule_tick, schedule_fire]


__all__ = ["FIRE_FUNCTION_ID", "TICK_CRON", "TICK_FUNCTION_ID", "build_schedule_functions"]
