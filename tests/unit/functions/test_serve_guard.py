"""The serve endpoint's guard: replayed (old) signed requests, browser requests and non-JSON bodies refused.

Each attack is first shown to work against the bare SDK endpoint, then refused with the guard in front.
"""

from __future__ import annotations

import json
import time
import warnings
from typing import Any

import httpx
import inngest
from fastapi import FastAPI
from pydantic.warnings import PydanticDeprecatedSince20

from marketing_agent.engine.execution.client import MAX_SIGNATURE_AGE_S as ENGINE_WINDOW
from marketing_agent.engine.execution.client import canonical, sign
from marketing_agent.functions.serve_guard import MAX_SIGNATURE_AGE_S, ServeGuard

with warnings.catch_warnings():  # the SDK's FastAPI glue warns at import (see functions/registry.py)
    warnings.simplefilter("ignore", PydanticDeprecatedSince20)
    from inngest import fast_api

KEY = "signkey-prod-" + "cd" * 32
executed: list[str] = []


def _app(guarded: bool) -> FastAPI:
    client = inngest.Inngest(app_id="guarded", is_production=True, signing_key=KEY, event_key="ek",
                             api_base_url="http://127.0.0.1:9", event_api_base_url="http://127.0.0.1:9")  # fmt: skip

    @client.create_function(fn_id="f", retries=0, trigger=inngest.TriggerEvent(event="t/e"))
    async def f(ctx: inngest.Context) -> str:
        executed.append(ctx.run_id)
        return "done"

    app = FastAPI()
    fast_api.serve(app, client, [f], serve_path="/api/inngest")
    if guarded:
        app.add_middleware(ServeGuard, path="/api/inngest", signed=True)
    return app


def _call(t: int) -> tuple[bytes, dict[str, str]]:
    event = {"name": "t/e", "data": {}, "id": "e1", "ts": 1}
    body = {"event": event, "events": [event], "steps": {}, "version": 2, "use_api": False,
            "ctx": {"run_id": f"run-{t}", "attempt": 0, "disable_immediate_execution": False, "use_api": False,
                    "stack": {"stack": []}}}  # fmt: skip
    raw = canonical(json.dumps(body).encode())
    return raw, {"content-type": "application/json", "x-inngest-signature": sign(raw, KEY, t),
                 "x-inngest-server-kind": "cloud"}  # fmt: skip


async def _post(app: FastAPI, body: bytes, headers: dict[str, str]) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
        return await http.post("/api/inngest?fnId=guarded-f&stepId=step", content=body, headers=headers)


async def test_a_replayed_signed_request_is_refused() -> None:
    executed.clear()
    old = int(time.time()) - MAX_SIGNATURE_AGE_S - 60
    body, headers = _call(old)
    bare = await _post(_app(guarded=False), body, headers)
    assert bare.status_code == 200, bare.text  # the SDK alone accepts a six-minute-old signature
    assert executed == [f"run-{old}"]
    refused = await _post(_app(guarded=True), body, headers)
    assert refused.status_code == 401
    assert executed == [f"run-{old}"]  # not run again
    fresh = await _post(_app(guarded=True), *_call(int(time.time())))
    assert fresh.status_code == 200, fresh.text
    assert len(executed) == 2


async def test_browser_requests_and_non_json_bodies_are_refused() -> None:
    executed.clear()
    body, headers = _call(int(time.time()))
    app: Any = _app(guarded=True)
    assert (await _post(app, body, {**headers, "origin": "https://evil.example"})).status_code == 403
    assert (await _post(app, body, {**headers, "content-type": "text/plain"})).status_code == 415
    assert executed == []


def test_both_sides_use_one_window() -> None:
    assert MAX_SIGNATURE_AGE_S == ENGINE_WINDOW == 300


async def test_an_empty_post_is_a_400_not_a_500() -> None:
    # Issue 17: POST /api/inngest with an empty body reached the SDK, which (in dev mode, as `up` runs)
    # answered 500.
    client = inngest.Inngest(app_id="dev", is_production=False, api_base_url="http://127.0.0.1:9",
                             event_api_base_url="http://127.0.0.1:9")  # fmt: skip

    @client.create_function(fn_id="f", retries=0, trigger=inngest.TriggerEvent(event="t/e"))
    async def f(ctx: inngest.Context) -> str:
        return "done"

    app = FastAPI()
    fast_api.serve(app, client, [f], serve_path="/api/inngest")
    app.add_middleware(ServeGuard, path="/api/inngest", signed=False)
    for signed_app in (app, _app(guarded=True)):
        response = await _post(signed_app, b"", {})
        assert response.status_code == 400
        assert "JSON run request" in response.json()["error"]
