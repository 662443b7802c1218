"""The CLI in-process (typer's runner): configuration errors, users, skills."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from marketing_agent.cli import app

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name in ("DATABASE_URL", "STORAGE_URL", "SKILLS_DIR", "MARKETING_AGENT_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env file is read
    return {"DATA_DIR": str(tmp_path / "data")}


def test_users_create_json_prints_the_key_once(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["users", "create", "--email", "ada@example.com", "--json"], env=env)
    assert result.exit_code == 0, result.output
    created = json.loads(result.stdout)
    assert set(created) == {"user_id", "api_key"}
    assert created["api_key"].startswith("mak_")


def test_bad_database_url_is_exit_2(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["db", "upgrade"], env={**env, "DATABASE_URL": "oracle://x"})
    assert result.exit_code == 2
    assert "DATABASE_URL" in result.stderr


def test_bad_setting_is_exit_2(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["db", "upgrade"], env={**env, "API_PORT": "not-a-port"})
    assert result.exit_code == 2
    assert "API_PORT" in result.stderr


def test_missing_api_key_is_exit_2(env: dict[str, str]) -> None:
    result = runner.invoke(app, ["run", "copywriting", "hello"], env=env)
    assert result.exit_code == 2
    assert "API key" in result.stderr


def test_skills_list_and_sync(env: dict[str, str]) -> None:
    listed = runner.invoke(app, ["skills", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert "copywriting" in listed.stdout
    assert "category" in listed.stdout
    assert re.search(r"page-cro\s+│\s+cro\s+│", listed.stdout), listed.stdout
    synced = runner.invoke(app, ["skills", "sync"], env=env)
    assert synced.exit_code == 0, synced.output
    assert "table synced" in synced.stdout
