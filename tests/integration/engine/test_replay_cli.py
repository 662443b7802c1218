"""``marketing-agent engine replay …`` against a running engine: start (with --wait), list, show, pause, and
bad arguments exit 2 with the reason."""

from __future__ import annotations

from typer.testing import CliRunner

from integration.engine.harness import engine_and_app
from integration.engine.test_replay import FN, build, fail_runs, state
from marketing_agent.engine.cli import engine_app

runner = CliRunner()


def test_replay_commands(database_url: str) -> None:
    with engine_and_app(database_url, "replay-app", build) as (engine, _):
        failed = fail_runs(engine, 3)
        state["down"] = False
        at = ["--engine", engine.url]
        result = runner.invoke(engine_app, ["replay", "start", FN, "--since", "1h", "--status", "failed",
                                            "--rate", "100", "--wait", *at])  # fmt: skip
        assert result.exit_code == 0, result.output
        last = result.output.strip().splitlines()[-1]
        assert "COMPLETED" in last
        assert "matched 3" in last
        assert "completed 3" in last
        replay_id = last.split()[0]

        listed = runner.invoke(engine_app, ["replay", "list", *at])
        assert listed.exit_code == 0
        assert replay_id in listed.output
        shown = runner.invoke(engine_app, ["replay", "show", replay_id, *at])
        assert shown.exit_code == 0
        assert all(r["id"] in shown.output for r in failed)

        refused = runner.invoke(engine_app, ["replay", "pause", replay_id, *at])
        assert refused.exit_code == 2
        assert "COMPLETED" in refused.output
        bad_since = runner.invoke(engine_app, ["replay", "start", FN, "--since", "yesterday", *at])
        assert bad_since.exit_code == 2
        assert "--since" in bad_since.output
        bad_status = runner.invoke(engine_app, ["replay", "start", FN, "--since", "1h", "--status", "done", *at])
        assert bad_status.exit_code == 2
        assert "statuses" in bad_status.output
        missing = runner.invoke(engine_app, ["replay", "show", "01NOPE", *at])
        assert missing.exit_code == 2
        assert "not found" in missing.output
