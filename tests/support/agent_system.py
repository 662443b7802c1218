"""The whole agent on real servers, for end-to-end tests.

The REST API (``create_api_app`` with the functions mounted at ``/api/inngest``) and our engine run on
uvicorn on free loopback ports; the LLM is the fake Anthropic server (through ``ANTHROPIC_BASE_URL`` and
the real ``anthropic`` SDK); Telegram is the fake Bot API server (``TELEGRAM_API_BASE_URL``). Tests talk
to the API over HTTP exactly as a client would.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import inngest

from marketing_agent.agent.skills import load_skill_catalog
from marketing_agent.api import create_api_app
from marketing_agent.engine import EngineConfig, create_engine_app
from marketing_agent.functions import FunctionsMount, close_inngest_client
from marketing_agent.services import (
    Database,
    InngestEventSender,
    create_user,
    link_telegram_chat,
    make_inngest_client,
    resolve_user_by_api_key,
    sync_skills,
    upgrade_database,
)
from marketing_agent.settings import Settings
from support.fake_anthropic import FakeAnthropic
from support.fake_openai import FakeOpenAI
from support.fake_telegram import FakeTelegram
from support.function_stack import serve_app, stop_app
from support.net import free_port

TELEGRAM_TOKEN = "123456:E2E-token"
ALERT_CHAT = 9900  # ALERT_CHANNELS=telegram:<this chat>


@dataclass
class AgentSystem:
    settings: Settings
    api: httpx.AsyncClient  # base URL {api}/api/v1, authenticated as the test user
    engine: httpx.AsyncClient  # base URL = the engine's origin
    llm: FakeAnthropic | FakeOpenAI
    telegram: FakeTelegram
    database: Database
    client: inngest.Inngest  # the app's one Inngest client (events out of the API and the functions)

    async def link_chat(self, chat_id: int) -> None:
        """Link a Telegram chat to the test user the way the bot does (``/link`` from the chat itself)."""
        key = self.api.headers["authorization"].removeprefix("Bearer ")
        user = await resolve_user_by_api_key(self.database, key)
        await link_telegram_chat(self.database, user.id, chat_id)

    async def start_run(self, skill: str = "copywriting", message: str = "Write the homepage hero.") -> str:
        reply = await self.api.post("/runs", json={"skillName": skill, "message": message})
        assert reply.status_code == 202, reply.text
        return str(reply.json()["data"]["runId"])

    async def wait_run(self, run_id: str, *, timeout: float = 30.0) -> dict[str, Any]:
        """The run (API view) once it is completed, failed or cancelled."""
        deadline = time.monotonic() + timeout
        while True:
            reply = await self.api.get(f"/runs/{run_id}")
            reply.raise_for_status()
            run: dict[str, Any] = reply.json()["data"]
            if run["status"] in {"completed", "failed", "cancelled"}:
                return run
            if time.monotonic() > deadline:
                raise TimeoutError(f"run {run_id} still {run['status']} after {timeout}s")
            await asyncio.sleep(0.05)

    async def engine_runs(self, function: str, *, ended: bool = True) -> list[dict[str, Any]]:
        reply = await self.engine.get("/v1/runs", params={"function_id": f"marketing-agent-{function}", "limit": "100"})
        reply.raise_for_status()
        runs: list[dict[str, Any]] = reply.json()["data"]
        if ended:
            runs = [r for r in runs if r["status"] in {"COMPLETED", "FAILED", "CANCELLED"}]
        return runs

    async def wait_engine_runs(self, function: str, count: int = 1, *, timeout: float = 30.0) -> list[dict[str, Any]]:
        """``count`` ended runs of ``function``, each with its steps and attempts."""
        deadline = time.monotonic() + timeout
        while True:
            runs = await self.engine_runs(function)
            if len(runs) >= count:
                details = [await self.engine.get(f"/v1/runs/{r['id']}") for r in runs]
                return [d.json()["data"] for d in details]
            if time.monotonic() > deadline:
                raise TimeoutError(f"{function}: {len(runs)} of {count} runs ended after {timeout}s")
            await asyncio.sleep(0.05)

    async def events(self, name: str) -> list[dict[str, Any]]:
        reply = await self.engine.get("/v1/events", params={"name": name, "limit": "100"})
        reply.raise_for_status()
        return list(reply.json()["data"])


def llm_settings(llm: FakeAnthropic | FakeOpenAI) -> dict[str, Any]:
    """The settings that point the real provider SDK at a fake server."""
    if isinstance(llm, FakeOpenAI):
        return {"llm_provider": "openai", "openai_api_key": llm.api_key, "openai_base_url": llm.base_url}
    return {"llm_provider": "anthropic", "anthropic_api_key": llm.api_key, "anthropic_base_url": llm.base_url}


def system_settings(
    tmp_path: Path, database_url: str, llm: FakeAnthropic | FakeOpenAI, telegram: FakeTelegram
) -> Settings:
    api_port, engine_port = free_port(), free_port()
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=tmp_path,
        database_url=database_url,
        storage_url=(tmp_path / "storage").as_uri(),
        api_port=api_port,
        engine_port=engine_port,
        inngest_dev="1",
        inngest_base_url=f"http://127.0.0.1:{engine_port}",
        llm_timeout_seconds=10,
        telegram_bot_token=TELEGRAM_TOKEN,
        telegram_api_base_url=telegram.origin,
        alert_channels=f"telegram:{ALERT_CHAT}",
        **llm_settings(llm),
    )


@contextlib.asynccontextmanager
async def agent_system(
    settings: Settings,
    llm: FakeAnthropic | FakeOpenAI,
    telegram: FakeTelegram,
    *,
    engine_database_url: str | None = None,
) -> AsyncIterator[AgentSystem]:
    """Migrate, sync the skills, create a user, start engine and API, sync the app with the engine."""
    assert settings.database_url is not None
    await upgrade_database(settings.database_url)
    database = Database(settings.database_url)
    client = make_inngest_client(settings)
    mount = FunctionsMount(client=client)
    try:
        await sync_skills(database, (await load_skill_catalog(settings.skills_dir)).all())
        api_key = (await create_user(database, "e2e@example.com")).api_key
        engine_config = EngineConfig(
            database_url=engine_database_url or f"sqlite:///{settings.data_dir / 'engine.db'}",
            port=settings.engine_port,
            fast_retries=True,
            cron=False,  # the monitor is triggered by hand, so no tick lands mid-test
            request_timeout=60.0,
            otel_endpoint=settings.otel_exporter_otlp_endpoint,  # OpenTelemetry, when the test sets it
        )
        api_app = create_api_app(
            settings, database=database, event_sender=InngestEventSender(client), mount_functions=mount
        )
        engine_server = await serve_app(create_engine_app(engine_config), settings.engine_port)
        try:
            api_server = await serve_app(api_app, settings.api_port)
            try:
                async with (
                    httpx.AsyncClient(
                        base_url=f"{settings.api_url}/api/v1",
                        headers={"Authorization": f"Bearer {api_key}"},
                        timeout=30,
                    ) as api,
                    httpx.AsyncClient(base_url=settings.engine_url, timeout=30) as engine,
                ):
                    synced = await engine.post("/v1/apps/sync", json={"url": f"{settings.api_url}/api/inngest"})
                    synced.raise_for_status()
                    yield AgentSystem(settings, api, engine, llm, telegram, database, client)
            finally:
                await stop_app(*api_server)
        finally:
            await stop_app(*engine_server)
    finally:
        await mount.aclose()
        await close_inngest_client(client)
        await database.dispose()
