"""The real event sender (the official SDK client) against a local server speaking the event API."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from marketing_agent.errors import ServiceUnavailable
from marketing_agent.services import InngestEventSender, make_inngest_client
from marketing_agent.services.engine_client import EngineRunCanceller
from marketing_agent.services.events import inngest_dev_mode
from marketing_agent.settings import load_settings
from support.net import free_port


class FakeEngine:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.cancelled: list[str] = []
        self.cancel_auth: list[str] = []
        self.cancel_types: list[str] = []
        self.status = 200

    async def event_api(self, request: web.Request) -> web.Response:
        self.paths.append(request.path)
        if self.status != 200:
            return web.json_response({"error": "nope", "status": self.status}, status=self.status)
        batch = await request.json()
        self.events.extend(batch)
        return web.json_response({"ids": [f"id-{len(self.events)}" for _ in batch], "status": 200})

    async def cancel(self, request: web.Request) -> web.Response:
        self.cancelled.append(request.match_info["run_id"])
        self.cancel_auth.append(request.headers.get("authorization", ""))
        self.cancel_types.append(request.headers.get("content-type", ""))
        return web.json_response({"ok": True})


@pytest.fixture
async def engine() -> AsyncIterator[tuple[FakeEngine, int]]:
    fake = FakeEngine()
    app = web.Application()
    app.router.add_post("/e/{key}", fake.event_api)
    app.router.add_post("/v1/runs/{run_id}/cancel", fake.cancel)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield fake, port
    await runner.cleanup()


async def _close(sender_client: Any) -> None:
    http = sender_client._http_client  # the SDK keeps pooled connections and has no public close
    await http._http_client.aclose()
    http._http_client_sync.close()


async def test_sends_the_event_with_its_id(engine: tuple[FakeEngine, int]) -> None:
    fake, port = engine
    client = make_inngest_client(load_settings(inngest_base_url=f"http://127.0.0.1:{port}", inngest_dev="1"))
    try:
        event_id = await InngestEventSender(client).send("skill.execute", {"runId": "r1"}, id="skill-execute-r1")
    finally:
        await _close(client)
    assert event_id == "id-1"
    [event] = fake.events
    assert event["name"] == "skill.execute"
    assert event["data"] == {"runId": "r1"}
    assert event["id"] == "skill-execute-r1"
    assert fake.paths[0].startswith("/e/")


async def test_refusal_is_service_unavailable(engine: tuple[FakeEngine, int]) -> None:
    fake, port = engine
    fake.status = 400
    client = make_inngest_client(load_settings(inngest_base_url=f"http://127.0.0.1:{port}", inngest_dev="1"))
    try:
        with pytest.raises(ServiceUnavailable):
            await InngestEventSender(client).send("skill.execute", {"runId": "r1"})
    finally:
        await _close(client)
    assert fake.events == []


async def test_production_mode_uses_the_event_key(engine: tuple[FakeEngine, int]) -> None:
    fake, port = engine
    settings = load_settings(
        inngest_base_url=f"http://127.0.0.1:{port}",
        inngest_dev="0",
        inngest_event_key="evkey",
        inngest_signing_key="signkey-prod-" + "ab" * 16,
    )
    assert not inngest_dev_mode(settings)
    client = make_inngest_client(settings)
    try:
        await InngestEventSender(client).send("feedback.process", {"feedbackId": "f"})
    finally:
        await _close(client)
    assert fake.paths == ["/e/evkey"]


async def test_cancel_posts_to_the_engine(engine: tuple[FakeEngine, int]) -> None:
    fake, port = engine
    await EngineRunCanceller(load_settings(inngest_base_url=f"http://127.0.0.1:{port}")).cancel("01RUN")
    assert fake.cancelled == ["01RUN"]
    closed = EngineRunCanceller(load_settings(inngest_base_url=f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(ServiceUnavailable):
        await closed.cancel("01RUN")
    assert json.dumps(fake.cancelled) == '["01RUN"]'


async def test_cancel_sends_the_signing_key_hash_never_the_key(engine: tuple[FakeEngine, int]) -> None:
    fake, port = engine
    key = "signkey-prod-" + "ab" * 32
    settings = load_settings(inngest_base_url=f"http://127.0.0.1:{port}", inngest_signing_key=key)
    await EngineRunCanceller(settings).cancel("01RUN")
    [auth] = fake.cancel_auth
    assert auth == f"Bearer {hashlib.sha256(bytes.fromhex('ab' * 32)).hexdigest()}"
    assert "ab" * 32 not in auth
    assert fake.cancel_types == ["application/json"]  # the engine refuses other types (request_guard.py)
