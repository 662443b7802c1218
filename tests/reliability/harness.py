"""A whole system in real processes — engine and API (functions mounted) — that a test can SIGKILL and restart.

The app database is SQLite or PostgreSQL, storage is a local folder, the LLM is the fake Anthropic server
(in the test process, so it survives every kill). Users are created in-process before the API starts.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from marketing_agent.agent.skills import load_skill_catalog
from marketing_agent.db import upgrade_database
from marketing_agent.services import Database, create_user, sync_skills
from marketing_agent.settings import Settings
from marketing_agent.storage import open_object_store
from support.net import free_port, wait_for_port

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SKILL = "copywriting"


def api_command(use_cli: bool) -> list[str]:
    """``marketing-agent api`` (when it mounts the functions), else the equivalent ``serve_api.py``.

    The CLI migrates and syncs the skills table on every start, which costs seconds a short test does not
    have (the harness has already done both), so short versions start ``serve_api.py``.
    """
    from marketing_agent import cli

    if use_cli and "FunctionsMount" in inspect.getsource(cli):
        return [sys.executable, "-m", "marketing_agent", "api"]
    return [sys.executable, str(HERE / "serve_api.py")]


@dataclass
class System:
    """Engine + API processes over one data folder; ``kill_*`` sends SIGKILL, ``start_*`` brings them back."""

    root: Path
    llm_origin: str
    app_database_url: str
    engine_database_url: str
    engine_backoff: str = "2,8,20,30"
    use_cli: bool = False
    engine_port: int = field(default_factory=free_port)
    api_port: int = field(default_factory=free_port)
    engine: subprocess.Popen[bytes] | None = None
    api: subprocess.Popen[bytes] | None = None
    restarts: dict[str, int] = field(default_factory=lambda: {"engine": 0, "api": 0})

    @property
    def engine_url(self) -> str:
        return f"http://127.0.0.1:{self.engine_port}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def storage_root(self) -> Path:
        return self.root / "data" / "storage"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("INNGEST_", "ENGINE_", "LLM_"))}
        env.update(
            DATA_DIR=str(self.root / "data"),
            DATABASE_URL=self.app_database_url,
            API_HOST="127.0.0.1",
            API_PORT=str(self.api_port),
            INNGEST_DEV="1",
            INNGEST_BASE_URL=self.engine_url,
            LLM_PROVIDER="anthropic",
            ANTHROPIC_API_KEY="test-key",
            ANTHROPIC_BASE_URL=self.llm_origin,
            ALERT_CHANNELS="log",
            API_RATE_LIMIT_PER_MINUTE="0",  # a load harness, not a user: no per-user limits
            RUNS_PER_DAY="0",
            PYTHONPATH=os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")]),
        )
        return env

    def settings(self) -> Settings:
        return Settings(data_dir=self.root / "data", database_url=self.app_database_url, _env_file=None)  # type: ignore[call-arg]

    async def prepare(self, users: int) -> list[str]:
        """Migrate the app database, sync the skills table, create ``users`` users; their API keys."""
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        settings = self.settings()
        await upgrade_database(settings.resolved_database_url)
        database = Database(settings.resolved_database_url)
        try:
            catalog = await load_skill_catalog(None, open_object_store(settings))
            await sync_skills(database, catalog.all())
            return [(await create_user(database, f"user{i}@example.com")).api_key for i in range(users)]
        finally:
            await database.dispose()

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = (self.root / f"{name}.log").open("ab")
        try:
            return subprocess.Popen(args, env=self.env(), stdout=log, stderr=subprocess.STDOUT, cwd=self.root)
        finally:
            log.close()

    def start_engine(self, *extra: str) -> None:
        args = [sys.executable, str(HERE / "serve_engine.py"), "--port", str(self.engine_port),
                "--db", self.engine_database_url, "--app", f"{self.api_url}/api/inngest",
                "--backoff", self.engine_backoff, *extra]  # fmt: skip
        self.engine = self._spawn("engine", args)
        self._wait_listening(self.engine, self.engine_port, "engine")

    def start_api(self) -> None:
        self.api = self._spawn("api", api_command(self.use_cli))
        self._wait_listening(self.api, self.api_port, "api")

    def _wait_listening(self, proc: subprocess.Popen[bytes], port: int, name: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"{name} exited with {proc.returncode} at start\n{self.logs()}")
            try:
                wait_for_port(port, timeout=0.5)
                return
            except TimeoutError:
                continue
        raise AssertionError(f"{name} not listening on {port} after {timeout}s\n{self.logs()}")

    def kill(self, name: str) -> None:
        proc = self.engine if name == "engine" else self.api
        assert proc is not None, f"{name} was never started"
        assert proc.poll() is None, f"{name} is not running (exit code {proc.returncode})"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        self.restarts[name] += 1

    def restart(self, name: str) -> None:
        self.kill(name)
        if name == "engine":
            self.start_engine()
        else:
            self.start_api()

    def stop(self) -> None:
        for proc in (self.api, self.engine):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

    def logs(self) -> str:
        parts = []
        for name in ("engine", "api"):
            path = self.root / f"{name}.log"
            if path.exists():
                parts.append(f"--- {name}.log (tail) ---\n" + path.read_text(errors="replace")[-3000:])
        return "\n".join(parts)


@dataclass
class Submitter:
    """Submits skill runs over the API; a run counts as accepted only when the API answered 202."""

    system: System
    keys: list[str]
    accepted: dict[str, str] = field(default_factory=dict)  # run id -> API key of its owner
    refused: int = 0
    unexpected: list[str] = field(default_factory=list)

    async def submit(self, http: httpx.AsyncClient, index: int, *, attempts: int = 200) -> str:
        key = self.keys[index % len(self.keys)]
        body = {"skillName": SKILL, "message": f"Homepage copy #{index}"}
        for _ in range(attempts):
            try:
                reply = await http.post(
                    f"{self.system.api_url}/api/v1/runs", json=body, headers={"Authorization": f"Bearer {key}"}
                )
            except httpx.TransportError:
                self.refused += 1  # the API is down (being restarted): not accepted, try again
                await asyncio.sleep(0.2)
                continue
            if reply.status_code == 202:
                run_id = str(reply.json()["data"]["runId"])
                self.accepted[run_id] = key
                return run_id
            if reply.status_code != 503:
                # Not in the contract (e.g. a 500 while the database restarts): recorded, asserted at the end
                # by the test, after the other checks, so one run shows everything that went wrong.
                self.unexpected.append(f"{reply.status_code}: {reply.text[:300]}")
            self.refused += 1  # the engine did not take the event: the API failed the run and said so
            await asyncio.sleep(0.2)
        raise AssertionError(f"run #{index} was never accepted")

    async def submit_half_then_trickle(
        self, http: httpx.AsyncClient, runs: int, rng: random.Random, max_gap: float
    ) -> asyncio.Task[None]:
        """Submit the first half of ``runs`` now; return a task submitting the rest with random gaps, so
        that the disturbance the test causes next meets runs in every state."""
        for index in range(runs // 2):
            await self.submit(http, index)

        async def submit_the_rest() -> None:
            for index in range(runs // 2, runs):
                await self.submit(http, index)
                await asyncio.sleep(rng.uniform(0.0, max_gap))

        return asyncio.create_task(submit_the_rest())


async def wait_until_settled(system: System, accepted: dict[str, str], timeout: float) -> dict[str, dict[str, Any]]:
    """Every accepted run's API view once none is queued or running (or the timeout says what is stuck)."""
    deadline = time.monotonic() + timeout
    views: dict[str, dict[str, Any]] = {}
    async with httpx.AsyncClient(timeout=30) as http:
        while True:
            pending = [r for r in accepted if views.get(r, {}).get("status") not in ("completed", "failed")]
            for run_id in pending:
                try:
                    reply = await http.get(
                        f"{system.api_url}/api/v1/runs/{run_id}",
                        headers={"Authorization": f"Bearer {accepted[run_id]}"},
                    )
                except httpx.TransportError:
                    break
                if reply.status_code == 200:
                    views[run_id] = reply.json()["data"]
            pending = [r for r in accepted if views.get(r, {}).get("status") not in ("completed", "failed")]
            if not pending:
                return views
            if time.monotonic() > deadline:
                states = {r: views.get(r, {}).get("status") for r in pending[:10]}
                raise AssertionError(f"{len(pending)} runs never finished, e.g. {states}\n{system.logs()}")
            await asyncio.sleep(0.5)


def output_files(system: System) -> list[Path]:
    return [p for p in (system.storage_root / "outputs").rglob("*.md") if p.is_file()]


def assert_exactly_once(system: System, views: dict[str, dict[str, Any]], output_rows: list[str]) -> None:
    """All accepted runs completed, each with exactly one output row and exactly one output file."""
    failed = {r: v.get("errorMessage") for r, v in views.items() if v["status"] != "completed"}
    assert not failed, f"runs did not complete: {failed}\n{system.logs()}"
    assert all(v.get("output") for v in views.values())
    rows_per_run = {r: output_rows.count(r) for r in views}
    assert set(rows_per_run.values()) == {1}, {r: n for r, n in rows_per_run.items() if n != 1}
    files = [p.name for p in output_files(system)]
    files_per_run = {r: sum(1 for name in files if name.endswith(f"-{r}.md")) for r in views}
    assert set(files_per_run.values()) == {1}, {r: n for r, n in files_per_run.items() if n != 1}


async def output_run_ids(database_url: str) -> list[str]:
    """The run id of every row in ``outputs`` (duplicates kept, to catch them)."""
    from sqlalchemy import text

    database = Database(database_url)
    try:
        async with database.transaction() as session:
            rows = (await session.execute(text("SELECT run_id FROM outputs"))).scalars().all()
    finally:
        await database.dispose()
    return [str(uuid.UUID(str(r))) if not isinstance(r, uuid.UUID) else str(r) for r in rows]
