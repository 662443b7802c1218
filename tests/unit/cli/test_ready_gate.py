"""``up`` holds /api/v1 requests until the engine has synced the functions (marketing_agent._ready)."""

from __future__ import annotations

import asyncio

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from marketing_agent._ready import ReadyGate


async def _ok(_: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


APP = Starlette(routes=[Route("/api/v1/runs", _ok, methods=["POST"]), Route("/api/inngest", _ok, methods=["PUT"])])


async def test_api_requests_wait_for_the_sync_and_the_serve_endpoint_does_not() -> None:
    ready = asyncio.Event()
    transport = httpx.ASGITransport(app=ReadyGate(APP, ready, timeout=5))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        assert (await http.put("/api/inngest")).status_code == 200  # the sync itself must get through
        pending = asyncio.create_task(http.post("/api/v1/runs"))
        await asyncio.sleep(0.1)
        assert not pending.done()
        ready.set()
        reply = await asyncio.wait_for(pending, 5)
        assert reply.status_code == 200
        assert reply.text == "ok"


async def test_a_sync_that_never_comes_is_a_503_with_the_envelope() -> None:
    transport = httpx.ASGITransport(app=ReadyGate(APP, asyncio.Event(), timeout=0.05))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        reply = await http.post("/api/v1/runs")
    assert reply.status_code == 503
    assert reply.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert reply.json()["success"] is False
