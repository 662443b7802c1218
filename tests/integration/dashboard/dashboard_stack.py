"""A real engine and a tiny real Inngest SDK app, both on uvicorn, for the dashboard's tests.

The app has four functions: ``hello`` (one step that logs and returns), ``explode`` (a step that logs and
raises; one retry, so two attempts), ``sleepy`` (sleeps an hour: stays WAITING until cancelled) and
``approval`` (waits for a ``demo/approve`` event). Its client
carries :class:`StepLogMiddleware`, so step log lines reach the engine as they would in production.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import time
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import inngest
import uvicorn
from fastapi import FastAPI
from pydantic.warnings import PydanticDeprecatedSince20

from marketing_agent.engine import EngineConfig, create_engine_app
from marketing_agent.functions.step_logs import StepLogMiddleware
from support.net import free_port

APP_ID = "dash-demo"
demo_log = logging.getLogger("dashdemo")


def build_functions(client: inngest.Inngest) -> list[inngest.Function[Any]]:
    demo_log.setLevel(logging.INFO)

    @client.create_function(fn_id="hello", trigger=inngest.TriggerEvent(event="demo/hello"), retries=0)
    async def hello(ctx: inngest.Context) -> dict[str, str]:
        async def greet() -> dict[str, str]:
            demo_log.info("greeting %s", ctx.event.data.get("name"))
            return {"greeting": f"hello {ctx.event.data.get('name')}"}

        return await ctx.step.run("greet", greet)

    @client.create_function(
        fn_id="explode",
        trigger=inngest.TriggerEvent(event="demo/fail"),
        retries=1,
        rate_limit=inngest.RateLimit(limit=1000, period=datetime.timedelta(minutes=1)),  # shown as flow control
    )
    async def explode(ctx: inngest.Context) -> None:
        async def boom() -> None:
            demo_log.warning("about to break, attempt %s", ctx.attempt)
            raise ValueError("the widget broke")

        await ctx.step.run("boom", boom)

    @client.create_function(fn_id="sleepy", trigger=inngest.TriggerEvent(event="demo/sleep"), retries=0)
    async def sleepy(ctx: inngest.Context) -> str:
        await ctx.step.sleep("nap", datetime.timedelta(hours=1))
        return "woke"

    @client.create_function(fn_id="approval", trigger=inngest.TriggerEvent(event="demo/ask"), retries=0)
    async def approval(ctx: inngest.Context) -> dict[str, object]:
        answer = await ctx.step.wait_for_event(
            "wait-for-approval", event="demo/approve", timeout=datetime.timedelta(hours=1)
        )
        return {"approved": answer is not None}

    return [hello, explode, sleepy, approval]


@dataclass
class DashStack:
    engine_url: str
    app_url: str
    http: httpx.AsyncClient
    config: EngineConfig

    def fn(self, local_id: str) -> str:
        return f"{APP_ID}-{local_id}"

    async def send(self, name: str, data: dict[str, Any]) -> str:
        reply = await self.http.post(f"{self.engine_url}/e/dev", json={"name": name, "data": data})
        reply.raise_for_status()
        return str(reply.json()["ids"][0])

    async def runs_of_event(self, event_id: str, timeout: float = 10) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            reply = await self.http.get(f"{self.engine_url}/v1/runs", params={"event_id": event_id})
            rows = list(reply.json()["data"])
            if rows or time.monotonic() > deadline:
                return rows
            await asyncio.sleep(0.05)

    async def wait_status(self, run_id: str, statuses: tuple[str, ...], timeout: float = 30) -> dict[str, Any]:
        """The run's dashboard JSON once its displayed status is one of ``statuses``."""
        deadline = time.monotonic() + timeout
        while True:
            reply = await self.http.get(f"{self.engine_url}/runs/{run_id}", headers={"accept": "application/json"})
            data = dict(reply.json())
            if data["status"] in statuses:
                return data
            if time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} is {data['status']}, wanted {statuses}")
            await asyncio.sleep(0.05)

    async def start(self, name: str, data: dict[str, Any], statuses: tuple[str, ...]) -> dict[str, Any]:
        """Send an event and wait until its one run reaches one of ``statuses``."""
        event_id = await self.send(name, data)
        [run] = await self.runs_of_event(event_id)
        return await self.wait_status(run["id"], statuses)


async def serve(app: Any, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 20
    while not server.started:
        if task.done():
            task.result()
        if time.monotonic() > deadline:
            raise TimeoutError(f"server on port {port} did not start")
        await asyncio.sleep(0.02)
    return server, task


async def stop(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    server.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=10)


@contextlib.asynccontextmanager
async def dashboard_stack(
    tmp_path: Path, database_url: str | None = None, **overrides: Any
) -> AsyncIterator[DashStack]:
    engine_port, app_port = free_port(), free_port()
    engine_url = f"http://127.0.0.1:{engine_port}"
    app_url = f"http://127.0.0.1:{app_port}/api/inngest"
    config = EngineConfig(
        database_url=database_url or f"sqlite:///{tmp_path / 'engine.db'}", port=engine_port, fast_retries=True,
        cron=False, request_timeout=30.0, **overrides,
    )  # fmt: skip
    client = inngest.Inngest(
        app_id=APP_ID, is_production=False, api_base_url=engine_url, event_api_base_url=engine_url,
        middleware=[StepLogMiddleware], logger=logging.getLogger("dashdemo.sdk"),
    )  # fmt: skip
    app = FastAPI()
    with warnings.catch_warnings():
        # The SDK's FastAPI module still uses pydantic's class-based config.
        warnings.simplefilter("ignore", PydanticDeprecatedSince20)
        from inngest.fast_api import serve as serve_sdk
    serve_sdk(app, client, build_functions(client))
    engine = await serve(create_engine_app(config), engine_port)
    try:
        sdk_app = await serve(app, app_port)
        try:
            async with httpx.AsyncClient(timeout=30) as http:
                # With a dashboard token the engine guards /v1 too (api_guard.py).
                auth = {"authorization": f"Bearer {config.dashboard_token}"} if config.dashboard_token else {}
                reply = await http.post(f"{engine_url}/v1/apps/sync", json={"url": app_url}, headers=auth)
                reply.raise_for_status()
                yield DashStack(engine_url=engine_url, app_url=app_url, http=http, config=config)
        finally:
            await stop(*sdk_app)
    finally:
        await stop(*engine)
