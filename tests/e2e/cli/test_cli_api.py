"""The real CLI in subprocesses: create a user, serve the API, drive it over HTTP and with the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.net import free_port, wait_for_port

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "marketing_agent"]


def _env(tmp_path: Path, database_url: str) -> dict[str, str]:
    engine_port = free_port()  # nothing listens there: the event API is "down"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("INNGEST_", "DATABASE_", "API_"))}
    return {
        **base,
        "DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": database_url,
        "API_PORT": str(free_port()),
        "INNGEST_BASE_URL": f"http://127.0.0.1:{engine_port}",
        "INNGEST_DEV": "1",
    }


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    """For the server test: SQLite and PostgreSQL."""
    return _env(tmp_path, database_url)


@pytest.fixture
def sqlite_env(tmp_path: Path) -> dict[str, str]:
    """For argument and configuration checks, which do not depend on the database kind."""
    return _env(tmp_path, f"sqlite:///{tmp_path / 'app.db'}")


def cli(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=60, check=False)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def server(env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    log = (tmp_path / "api.log").open("w")
    proc = subprocess.Popen([*CLI, "api"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(int(env["API_PORT"]), timeout=60)
        yield f"http://127.0.0.1:{env['API_PORT']}"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def test_api_process_serves_the_contract(env: dict[str, str], server: str, tmp_path: Path) -> None:
    created = json.loads(cli(env, "users", "create", "--email", "ada@example.com", "--json").stdout)
    assert set(created) == {"user_id", "api_key"}
    headers = {"Authorization": f"Bearer {created['api_key']}"}
    with httpx.Client(base_url=server, headers=headers, timeout=30) as http:
        assert http.get("/health").json() == {"status": "ok"}
        skills = http.get("/api/v1/skills").json()["data"]
        assert skills["total"] >= 12  # the built-ins were synced at start
        assert http.get("/docs").status_code == 200
        assert http.get("/api/v1/runs", headers={"Authorization": "Bearer nope"}).status_code == 401

        api_env = {**env, "MARKETING_AGENT_API_URL": server, "MARKETING_AGENT_API_KEY": created["api_key"]}
        cli(api_env, "clients", "create", "--name", "Acme", "--slug", "acme")
        profile = tmp_path / "profile.md"
        profile.write_text("# Acme\nRockets for everyone.\n")
        cli(api_env, "clients", "upload", "acme", str(profile))
        [client] = http.get("/api/v1/clients").json()["data"]["clients"]
        assert http.get(f"/api/v1/clients/{client['id']}/files/profile.md").text.startswith("# Acme")

        # The event API is down: the run must fail at once with the reason, never sit queued.
        answer = http.post("/api/v1/runs", json={"skillName": skills["skills"][0]["name"], "message": "Hi"})
        assert answer.status_code == 503
        assert answer.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
        [run] = http.get("/api/v1/runs").json()["data"]["runs"]
        assert run["status"] == "failed"
        refused = cli(api_env, "run", skills["skills"][0]["name"], "Hi", check=False)
        assert refused.returncode == 2
        assert "SERVICE_UNAVAILABLE" in refused.stderr


def test_bad_database_url_exits_2_with_one_line(sqlite_env: dict[str, str]) -> None:
    env = sqlite_env
    result = cli({**env, "DATABASE_URL": "mysql://nope"}, "db", "upgrade", check=False)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "DATABASE_URL" in result.stderr


def test_bad_arguments_exit_2(sqlite_env: dict[str, str]) -> None:
    env = sqlite_env
    assert cli(env, "users", "create", check=False).returncode == 2
    assert cli(env, "run", "copywriting", "x", "--options", "[1]", "--api-key", "k", check=False).returncode == 2


def test_db_upgrade_then_duplicate_user(sqlite_env: dict[str, str]) -> None:
    env = sqlite_env
    cli(env, "db", "upgrade")
    cli(env, "users", "create", "--email", "a@example.com")
    again = cli(env, "users", "create", "--email", "a@example.com", check=False)
    assert again.returncode == 2
    assert "already exists" in again.stderr


def _start_up(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("w") as log:  # the child keeps its own descriptor
        return subprocess.Popen([*CLI, "up"], env=env, stdout=log, stderr=subprocess.STDOUT)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=20)


def test_up_creates_a_local_user_once(sqlite_env: dict[str, str], tmp_path: Path) -> None:
    engine_port = free_port()
    sqlite_env = {
        **sqlite_env,
        "ENGINE_PORT": str(engine_port),
        "INNGEST_BASE_URL": f"http://127.0.0.1:{engine_port}",
        "LLM_PROVIDER": "anthropic",
        "ANTHROPIC_API_KEY": "",
    }
    first_log = tmp_path / "first.log"
    proc = _start_up(sqlite_env, first_log)
    try:
        wait_for_port(int(sqlite_env["API_PORT"]), timeout=60)
        wait_for_port(engine_port, timeout=60)
    finally:
        _stop(proc)
    printed = first_log.read_text()
    assert "Created a local user" in printed
    key = next(line.strip() for line in printed.splitlines() if line.startswith("mak_"))
    assert "/docs" in printed

    second_log = tmp_path / "second.log"
    proc = _start_up(sqlite_env, second_log)
    try:
        wait_for_port(int(sqlite_env["API_PORT"]), timeout=60)
        port = sqlite_env["API_PORT"]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            headers = {"Authorization": f"Bearer {key}"}
            assert http.get("/api/v1/skills", headers=headers).status_code == 200
            # The whole chain in one process: API → engine → skill-execute → run row. No LLM is configured
            # (anthropic without a key), so the function fails the run at once, saying how to configure one.
            queued = http.post("/api/v1/runs", json={"skillName": "copywriting", "message": "Hi"}, headers=headers)
            assert queued.status_code == 202, queued.text
            run_id = queued.json()["data"]["runId"]
            deadline = time.monotonic() + 60
            run: dict[str, Any] = {}
            while time.monotonic() < deadline:
                run = http.get(f"/api/v1/runs/{run_id}", headers=headers).json()["data"]
                if run["status"] in {"completed", "failed"}:
                    break
                time.sleep(0.3)
            assert run["status"] == "failed", run
            assert run["errorMessage"]
        # The CLI follows a run live, with the function run's steps read from the engine.
        follow_env = {
            **sqlite_env,
            "MARKETING_AGENT_API_URL": f"http://127.0.0.1:{port}",
            "MARKETING_AGENT_API_KEY": key,
        }
        followed = cli(follow_env, "run", "copywriting", "Hi", "--follow", "--poll", "0.3", check=False)
        assert followed.returncode == 1, followed.stderr
        assert "step " in followed.stdout
        assert "failed" in followed.stdout
    finally:
        _stop(proc)
    assert "Created a local user" not in second_log.read_text()
