"""Cron triggers: fired by the scheduler with an ``inngest/scheduled.timer`` event (TZ= prefix honoured).

Inngest crons have 5 fields (minute resolution); the engine also accepts croniter's 6th field (seconds), which
keeps this test short.
"""

from __future__ import annotations

import time

import inngest

from integration.engine.harness import engine_and_app

fired: list[dict[str, object]] = []


def build(client: inngest.Inngest) -> list[inngest.Function[object]]:
    @client.create_function(fn_id="ticker", trigger=inngest.TriggerCron(cron="TZ=Europe/Paris * * * * * *"))
    async def ticker(ctx: inngest.Context) -> str:
        fired.append({"name": ctx.event.name, "data": dict(ctx.event.data)})
        return "tick"

    return [ticker]


def test_cron_fires(database_url: str) -> None:
    fired.clear()
    with engine_and_app(database_url, "cron-app", build) as (engine, _):
        deadline = time.monotonic() + 10
        while len(fired) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(fired) >= 2
        assert fired[0]["name"] == "inngest/scheduled.timer"
        assert fired[0]["data"]["cron"] == "* * * * * *"  # type: ignore[index]
        runs = engine.http.get("/v1/runs", params={"function_id": "cron-app-ticker"}).json()["data"]
        assert runs
        assert all(r["cron"] == "TZ=Europe/Paris * * * * * *" for r in runs)
