"""A sample app for ``marketing-agent engine``: three functions written with the official Inngest Python SDK.

* ``process-order``  — steps + retry: three durable steps; the payment step fails on its first two attempts
  and succeeds on the third (retries are per step; completed steps are never re-run).
* ``risky-import``   — on_failure: always fails; its failure handler runs with the error and the event.
* ``daily-digest``   — cron: every minute (``TZ=Europe/Paris``), triggered by ``inngest/scheduled.timer``.

Run it (see README.md beside this file)::

    INNGEST_DEV=1 uvicorn examples.engine_app.app:app --port 8000
    marketing-agent engine --app http://127.0.0.1:8000/api/inngest --fast-retries
"""

from __future__ import annotations

import logging
import os
from typing import Any

import fastapi
import inngest
import inngest.fast_api

ENGINE_URL = os.environ.get("ENGINE_URL", "http://127.0.0.1:8288")
log = logging.getLogger("examples.engine_app")

client = inngest.Inngest(
    app_id="example-shop",
    is_production=False,
    api_base_url=ENGINE_URL,
    event_api_base_url=ENGINE_URL,
    logger=log,
)


@client.create_function(fn_id="process-order", retries=4, trigger=inngest.TriggerEvent(event="shop/order.placed"))
async def process_order(ctx: inngest.Context) -> dict[str, Any]:
    order = ctx.event.data

    async def reserve_stock() -> dict[str, Any]:
        return {"reserved": order.get("items", 1)}

    async def charge_card() -> str:
        # A flaky payment provider: the first two attempts fail, the engine retries this step only.
        if ctx.attempt < 2:
            raise RuntimeError(f"payment gateway timeout (attempt {ctx.attempt})")
        return f"ch_{ctx.run_id[-8:].lower()}"

    async def send_receipt() -> str:
        return f"receipt sent to {order.get('email', 'customer@example.com')}"

    stock = await ctx.step.run("reserve-stock", reserve_stock)
    charge = await ctx.step.run("charge-card", charge_card)
    receipt = await ctx.step.run("send-receipt", send_receipt)
    return {"stock": stock, "charge": charge, "receipt": receipt}


async def import_failed(ctx: inngest.Context) -> str:
    error = ctx.event.data["error"]
    original = ctx.event.data["event"]
    ctx.logger.warning("import %s failed: %s", original["data"].get("file"), error["message"])
    return f"alerted: {error['name']}: {error['message']}"


@client.create_function(
    fn_id="risky-import",
    retries=1,
    on_failure=import_failed,
    trigger=inngest.TriggerEvent(event="shop/import.requested"),
)
async def risky_import(ctx: inngest.Context) -> None:
    await ctx.step.run("download", lambda: f"downloaded {ctx.event.data.get('file', 'catalog.csv')}")
    raise ValueError("catalog.csv: column 'price' is missing")


@client.create_function(fn_id="daily-digest", trigger=inngest.TriggerCron(cron="TZ=Europe/Paris * * * * *"))
async def daily_digest(ctx: inngest.Context) -> str:
    count = await ctx.step.run("count-orders", lambda: 42)
    return f"digest at {ctx.event.data['scheduledAt']}: {count} orders"


app = fastapi.FastAPI(title="example-shop")
inngest.fast_api.serve(app, client, [process_order, risky_import, daily_digest])
