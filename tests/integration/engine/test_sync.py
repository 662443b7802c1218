"""Sync: a bad config is refused with its reason and the app keeps its functions; re-sync updates and removed
functions stop triggering; the CLI's ``sync`` talks to a running engine."""

from __future__ import annotations

import inngest
from typer.testing import CliRunner

from integration.engine.harness import engine_in_process, make_client, sdk_app
from marketing_agent.engine.cli import engine_app


def test_resync_and_bad_config(database_url: str) -> None:
    with engine_in_process(database_url) as engine:
        client = make_client(engine.url, "sync-app")

        @client.create_function(fn_id="one", trigger=inngest.TriggerEvent(event="t/one"))
        async def one(ctx: inngest.Context) -> str:
            return "one"

        @client.create_function(fn_id="two", trigger=inngest.TriggerEvent(event="t/two"))
        async def two(ctx: inngest.Context) -> str:
            return "two"

        with sdk_app(client, [one, two]) as url:
            result = CliRunner().invoke(engine_app, ["sync", url, "--engine", engine.url])
            assert result.exit_code == 0, result.output
            assert {f["id"] for f in engine.http.get("/v1/functions").json()["data"]} == {
                "sync-app-one",
                "sync-app-two",
            }

        with sdk_app(client, [one]) as url:  # "two" removed
            engine.sync(url)
            assert [f["id"] for f in engine.http.get("/v1/functions").json()["data"]] == ["sync-app-one"]
            assert engine.run_for("t/one")["output"] == '"one"'
            two_event = engine.send("t/two")
            assert engine.http.get(f"/v1/events/{two_event}").json()["data"]["runs"] == []

        bad = {
            "appname": "sync-app",
            "url": "http://127.0.0.1:1/api",
            "functions": [{"id": "sync-app-bad", "triggers": [{"cron": "every day"}], "steps": {}}],
        }
        res = engine.http.post("/fn/register", json=bad)
        assert res.status_code == 400
        assert "steps" in res.json()["error"]
        assert [f["id"] for f in engine.http.get("/v1/functions").json()["data"]] == ["sync-app-one"]
        app = engine.http.get("/v1/apps/sync-app").json()["data"]
        assert "steps" in app["error"]

        res = engine.http.post("/v1/apps/sync", json={"url": "http://127.0.0.1:1/api/inngest"})
        assert res.status_code == 502


def test_cli_bad_arguments() -> None:
    result = CliRunner().invoke(engine_app, ["--db", "mysql://nope"])
    assert result.exit_code == 2
    assert "database_url" in result.output
    result = CliRunner().invoke(engine_app, ["sync", "ftp://x"])
    assert result.exit_code == 2
