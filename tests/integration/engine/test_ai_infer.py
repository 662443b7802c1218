"""step.ai.infer: the engine calls the provider itself (auth header per format) and memoizes the answer."""

from __future__ import annotations

import json
from typing import Any

import inngest
from inngest.experimental import ai
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from integration.engine.harness import _ThreadServer, engine_and_app
from support.net import free_port

received: list[dict[str, Any]] = []


async def messages(request: Request) -> JSONResponse:
    received.append({"headers": dict(request.headers), "body": await request.json()})
    return JSONResponse({"id": "msg_1", "content": [{"type": "text", "text": "Hi there!"}], "role": "assistant"})


def test_ai_infer(database_url: str) -> None:
    received.clear()
    port = free_port()
    provider = _ThreadServer(Starlette(routes=[Route("/v1/messages", messages, methods=["POST"])]), port)
    provider.start()
    outputs: list[Any] = []

    def build(client: inngest.Inngest) -> list[inngest.Function[object]]:
        adapter = ai.anthropic.Adapter(
            auth_key="sk-test", base_url=f"http://127.0.0.1:{port}/v1", model="claude-test",
        )  # fmt: skip

        @client.create_function(fn_id="infer", retries=0, trigger=inngest.TriggerEvent(event="t/infer"))
        async def infer(ctx: inngest.Context) -> Any:
            out = await ctx.step.ai.infer(
                "ask", adapter=adapter, body={"messages": [{"role": "user", "content": "hi"}], "max_tokens": 10}
            )
            outputs.append(out)
            return out["content"][0]["text"]

        return [infer]

    try:
        with engine_and_app(database_url, "ai-app", build) as (engine, _):
            run = engine.run_for("t/infer")
            assert run["status"] == "COMPLETED"
            assert json.loads(run["output"]) == "Hi there!"
            assert len(received) == 1  # memoized: the provider was called once
            assert received[0]["headers"]["x-api-key"] == "sk-test"
            assert received[0]["body"]["model"] == "claude-test"
            assert run["steps"][0]["op"] == "StepRun"
            assert run["steps"][0]["name"] == "ask"
    finally:
        provider.stop()
