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
        with engine_and_app(database_url, "ai-app", build, ai_gateway_hosts=(f"127.0.0.1:{port}",)) as (engine, _):
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


def test_ai_infer_to_a_host_off_the_allow_list_is_refused(database_url: str) -> None:
    """The attack: an app (or whoever registered one) answers with an AIGateway op aimed at an internal
    address. The engine must not send it; the step fails naming the setting."""
    received.clear()
    port = free_port()
    internal = _ThreadServer(Starlette(routes=[Route("/v1/messages", messages, methods=["POST"])]), port)
    internal.start()

    def build(client: inngest.Inngest) -> list[inngest.Function[object]]:
        adapter = ai.anthropic.Adapter(auth_key="sk-test", base_url=f"http://127.0.0.1:{port}/v1", model="m")

        @client.create_function(fn_id="infer", retries=0, trigger=inngest.TriggerEvent(event="t/infer"))
        async def infer(ctx: inngest.Context) -> Any:
            return await ctx.step.ai.infer("ask", adapter=adapter, body={"messages": [], "max_tokens": 1})

        return [infer]

    try:
        # The default list names public providers only; 127.0.0.1 on another port does not count either.
        for hosts in ((), ("api.anthropic.com",), (f"127.0.0.1:{port + 1}",)):
            kwargs = {"ai_gateway_hosts": hosts} if hosts else {}
            with engine_and_app(database_url, "ai-app", build, **kwargs) as (engine, _):
                run = engine.run_for("t/infer")
                assert run["status"] == "FAILED"
                assert "ENGINE_AI_GATEWAY_HOSTS" in json.dumps(run)
        assert received == []  # the internal server never saw a request
    finally:
        internal.stop()
