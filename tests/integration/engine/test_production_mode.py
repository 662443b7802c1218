"""Production mode: event keys enforced on /e/{key}; requests to the app signed and answers verified;
the SDK (in cloud mode, with the same signing key) authenticates its sync with the hashed key."""

from __future__ import annotations

import os

import httpx
import inngest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from integration.engine.harness import _ThreadServer, engine_in_process, sdk_app
from support.net import free_port

SIGNING_KEY = "signkey-prod-0123456789abcdef0123456789abcdef"


def test_signed_execution(database_url: str, monkeypatch: object) -> None:
    with engine_in_process(database_url, dev=False, event_keys=("secret-key",), signing_key=SIGNING_KEY) as engine:
        client = inngest.Inngest(
            app_id="prod-app", is_production=True, signing_key=SIGNING_KEY, event_key="secret-key",
            api_base_url=engine.url, event_api_base_url=engine.url,
        )  # fmt: skip

        @client.create_function(fn_id="signed", trigger=inngest.TriggerEvent(event="t/signed"))
        async def signed(ctx: inngest.Context) -> str:
            return await ctx.step.run("s", lambda: "verified")

        saved = os.environ.pop("INNGEST_DEV", None)
        try:
            with sdk_app(client, [signed]) as url:
                engine.sync(url)
                assert engine.http.post("/e/wrong-key", json={"name": "t/signed"}).status_code == 401
                res = engine.http.post("/e/secret-key", json={"name": "t/signed", "data": {}})
                assert res.status_code == 200
                (run,) = engine.runs_of_event(res.json()["ids"][0])
                done = engine.wait_run(run["id"])
                assert done["status"] == "COMPLETED"
                assert done["output"] == '"verified"'
                # An SDK without the key cannot register functions.
                assert httpx.post(f"{engine.url}/fn/register", json={"appname": "x"}).status_code == 401
                # Off dev mode the inspection API wants a credential too (api_guard.py).
                assert httpx.get(f"{engine.url}/v1/runs").status_code == 401
                assert httpx.post(f"{engine.url}/v0/gql", json={"query": "{ __typename }"}).status_code == 401
        finally:
            if saved is not None:
                os.environ["INNGEST_DEV"] = saved


def test_unsigned_answers_are_refused(database_url: str) -> None:
    """A man in the middle (or a look-alike server) answers a step call with 200 and a result but no valid
    signature — and without the ``x-inngest-sdk`` header that used to be the only trigger for the check."""
    calls: list[str] = []

    async def forged(request: Request) -> JSONResponse:
        calls.append(request.url.path)
        return JSONResponse("pwned")

    port = free_port()
    fake = _ThreadServer(Starlette(routes=[Route("/api/inngest", forged, methods=["POST"])]), port)
    fake.start()
    url = f"http://127.0.0.1:{port}/api/inngest"
    step = {"id": "step", "name": "step", "runtime": {"type": "http", "url": f"{url}?fnId=mitm-f&stepId=step"},
            "retries": {"attempts": 0}}  # fmt: skip
    payload = {"appname": "mitm", "url": url, "functions": [
        {"id": "mitm-f", "name": "f", "triggers": [{"event": "t/mitm"}], "steps": {"step": step}}]}  # fmt: skip
    try:
        with engine_in_process(database_url, dev=False, event_keys=("ek",), signing_key=SIGNING_KEY) as engine:
            reg = engine.http.post("/fn/register", json=payload)  # the harness sends the key's hash
            assert reg.status_code == 200, reg.text
            raw = engine.http.post("/fn/register", json=payload, headers={"authorization": f"Bearer {SIGNING_KEY}"})
            assert raw.status_code == 401  # the raw key is never a bearer token
            res = engine.http.post("/e/ek", json={"name": "t/mitm", "data": {}})
            (run,) = engine.runs_of_event(res.json()["ids"][0])
            done = engine.wait_run(run["id"])
            assert calls  # the engine did call the server …
            assert done["status"] == "FAILED"  # … and did not take its answer as the step's result
            assert "pwned" not in str(done.get("output"))
    finally:
        fake.stop()
