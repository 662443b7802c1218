"""Production mode: event keys enforced on /e/{key}; requests to the app signed and answers verified;
the SDK (in cloud mode, with the same signing key) authenticates its sync with the hashed key."""

from __future__ import annotations

import os

import httpx
import inngest

from integration.engine.harness import engine_in_process, sdk_app

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
