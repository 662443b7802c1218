"""The durable functions on real servers: our engine and a FastAPI app serving the functions, on uvicorn.

Both servers run as tasks on the test's own event loop (so the app's database and the test share it), on
free loopback ports. The engine uses its fast retry schedule, so retries take fractions of a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import inngest
import uvicorn
from fastapi import FastAPI

from marketing_agent.engine import EngineConfig, create_engine_app
from marketing_agent.functions import FunctionDeps, close_inngest_client, serve_functions
from marketing_agent.services import make_inngest_client
from marketing_agent.settings import Settings
from support.net import free_port


@dataclass
class Stack:
    engine_url: str
    app_url: str
    client: inngest.Inngest
    http: httpx.AsyncClient

    async def send(self, name: str, data: dict[str, Any], *, event_id: str | None = None) -> str:
        [sent] = await self.client.send(inngest.Event(name=name, data=data, id=event_id or ""))
        return str(sent)

    async def runs(self, function_id: str, status: str | None = None) -> list[dict[str, Any]]:
        params = {"function_id": f"marketing-agent-{function_id}", "limit": "100"}
        if status:
            params["status"] = status
        reply = await self.http.get(f"{self.engine_url}/v1/runs", params=params)
        reply.raise_for_status()
        return list(reply.json()["data"])

    async def run(self, run_id: str) -> dict[str, Any]:
        reply = await self.http.get(f"{self.engine_url}/v1/runs/{run_id}")
        reply.raise_for_status()
        return dict(reply.json()["data"])

    async def wait_for_runs(
        self,
        function_id: str,
        count: int = 1,
        *,
        statuses: tuple[str, ...] = ("COMPLETED", "FAILED", "CANCELLED"),
        timeout: float = 30.0,
        where: Callable[[dict[str, Any]], bool] | None = None,
    ) -> list[dict[str, Any]]:
        """The function's runs once ``count`` of them have ended (with their steps and attempts)."""
        deadline = time.monotonic() + timeout
        while True:
            ended = [r for r in await self.runs(function_id) if r["status"] in statuses]
            if where is not None:
                ended = [r for r in ended if where(r)]
            if len(ended) >= count:
                return [await self.run(r["id"]) for r in ended]
            if time.monotonic() > deadline:
                seen = [(r["id"], r["status"]) for r in await self.runs(function_id)]
                raise TimeoutError(f"{function_id}: wanted {count} ended runs, have {seen}")
            await asyncio.sleep(0.05)


async def serve_app(app: Any, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 20
    while not server.started:
        if task.done():
            task.result()  # raises the start-up error
        if time.monotonic() > deadline:
            raise TimeoutError(f"server on port {port} did not start")
        await asyncio.sleep(0.02)
    return server, task


async def stop_app(server: uvicorn.Server, task: asyncio.Task[None]) -> None:
    server.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=10)


def stack_settings(base: Settings, engine_url: str) -> Settings:
    """``base`` pointed at the test engine (dev mode, no keys)."""
    return base.model_copy(update={"inngest_base_url": engine_url, "inngest_dev": "1"})


@contextlib.asynccontextmanager
async def function_stack(
    tmp_path: Path,
    build_deps: Callable[[Settings], FunctionDeps],
    settings: Settings,
    *,
    engine_database_url: str | None = None,
) -> AsyncIterator[Stack]:
    """Start the engine, serve the functions built by ``build_deps`` and sync them with the engine."""
    engine_port, app_port = free_port(), free_port()
    engine_url = f"http://127.0.0.1:{engine_port}"
    app_url = f"http://127.0.0.1:{app_port}/api/inngest"
    config = EngineConfig(
        database_url=engine_database_url or f"sqlite:///{tmp_path / 'engine.db'}",
        port=engine_port,
        fast_retries=True,
        cron=False,  # tests trigger the cron function by hand: no tick lands mid-test
        request_timeout=60.0,
    )
    settings = stack_settings(settings, engine_url)
    client = make_inngest_client(settings)
    app = FastAPI()
    serve_functions(app, build_deps(settings), client)

    engine_server, engine_task = await serve_app(create_engine_app(config), engine_port)
    try:
        app_server, app_task = await serve_app(app, app_port)
        try:
            async with httpx.AsyncClient(timeout=30) as http:
                reply = await http.post(f"{engine_url}/v1/apps/sync", json={"url": app_url})
                reply.raise_for_status()
                yield Stack(engine_url=engine_url, app_url=app_url, client=client, http=http)
        finally:
            await stop_app(app_server, app_task)
    finally:
        await stop_app(engine_server, engine_task)
        await close_inngest_client(client)
