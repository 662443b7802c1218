"""Dev mode is refused on a non-loopback bind (API, engine, ``up``); production needs a signing key."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from marketing_agent.cli import app

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name in ("INNGEST_DEV", "INNGEST_SIGNING_KEY", "INNGEST_EVENT_KEY", "API_HOST", "ENGINE_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return {"DATA_DIR": str(tmp_path / "data")}


@pytest.mark.parametrize(("command", "variable"), [("up", "API_HOST"), ("up", "ENGINE_HOST"), ("api", "API_HOST")])
def test_dev_mode_on_an_open_interface_is_refused(env: dict[str, str], command: str, variable: str) -> None:
    result = runner.invoke(app, [command], env={**env, variable: "0.0.0.0"})
    assert result.exit_code == 2, result.output
    assert "INNGEST_DEV=0" in result.stderr
    assert "--insecure-dev" in result.stderr
    assert not (Path(env["DATA_DIR"]) / "app.db").exists()  # refused before anything was created


def test_the_engine_alone_refuses_it_too(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["engine", "--host", "0.0.0.0", "--db", "sqlite:///./e.db"], env=env)
    assert result.exit_code == 2
    assert "INNGEST_DEV=0" in result.stderr


def test_production_without_a_signing_key_is_refused(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["api"], env={**env, "INNGEST_DEV": "0", "INNGEST_EVENT_KEY": "ek"})
    assert result.exit_code == 2
    assert "INNGEST_SIGNING_KEY" in result.stderr
