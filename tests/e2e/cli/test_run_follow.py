"""`marketing-agent run --follow` against a real API process; the engine's side is played by the services."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from marketing_agent.services import (
    Database,
    SkillRun,
    list_runs,
    mark_run_completed,
    mark_run_running,
    record_output,
    resolve_user_by_api_key,
)
from marketing_agent.storage import LocalObjectStore
from support.net import free_port, wait_for_port

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "marketing_agent"]


class _EventApi(BaseHTTPRequestHandler):
    """Accepts every event, like the engine's event API."""

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        events = json.loads(self.rfile.read(length) or b"[]")
        body = json.dumps({"ids": [f"evt-{i}" for i, _ in enumerate(events)], "status": 200}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def event_api() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EventApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_run_follow_prints_progress_and_the_output(tmp_path: Path, event_api: int) -> None:
    database_url = f"sqlite:///{tmp_path / 'app.db'}"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INNGEST_", "DATABASE_", "API_"))}
    env.update(
        DATA_DIR=str(tmp_path / "data"),
        DATABASE_URL=database_url,
        API_PORT=str(port),
        INNGEST_BASE_URL=f"http://127.0.0.1:{event_api}",
        INNGEST_DEV="1",
    )
    created = subprocess.run(
        [*CLI, "users", "create", "--email", "ada@example.com", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    api_key = json.loads(created.stdout)["api_key"]
    with (tmp_path / "api.log").open("w") as log:
        api = subprocess.Popen([*CLI, "api"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, timeout=60)
        follow = subprocess.Popen(
            [*CLI, "run", "copywriting", "Write a hero", "--follow", "--poll", "0.2"],
            env={**env, "MARKETING_AGENT_API_URL": f"http://127.0.0.1:{port}", "MARKETING_AGENT_API_KEY": api_key},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        asyncio.run(_play_the_engine(database_url, api_key, tmp_path / "data" / "storage"))
        out, err = follow.communicate(timeout=60)
    finally:
        api.terminate()
        api.wait(timeout=20)
    assert follow.returncode == 0, err
    assert "queued" in out
    assert "completed" in out
    assert "# Hero\nRockets for everyone." in out


async def _play_the_engine(database_url: str, api_key: str, storage_root: Path) -> None:
    db = Database(database_url)
    try:
        user = await resolve_user_by_api_key(db, api_key)
        run = await _wait_for_run(db, user.id)
        await mark_run_running(db, run.id, engine_run_id="fr-1")
        await asyncio.sleep(0.5)  # let the follower see "running"
        key = f"outputs/copywriting/_none/2026-01-01-{run.id}.md"
        content = "# Hero\nRockets for everyone."
        await LocalObjectStore(storage_root).put(key, content.encode())
        await record_output(db, run.id, storage_key=key, title="Hero", content=content)
        await mark_run_completed(db, run.id, tokens_input=5, tokens_output=7, cost_usd=0.0)
    finally:
        await db.dispose()


async def _wait_for_run(db: Database, user_id: object) -> SkillRun:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        page = await list_runs(db, user_id)  # type: ignore[arg-type]
        if page.items:
            return page.items[0]
        await asyncio.sleep(0.1)
    raise AssertionError("the CLI never created the run")
