"""Test harness: the engine and a real Inngest SDK app (FastAPI + uvicorn), both served on loopback.

The engine runs in-process (a uvicorn server in a thread) or as a subprocess (``EngineProcess``, for the
crash tests). The SDK app always runs in a thread of the test process, so tests can count executions.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import fastapi
import httpx
import inngest
import inngest.fast_api
import uvicorn

from marketing_agent.engine import EngineConfig, create_engine_app
from marketing_agent.engine.execution.client import hashed_signing_key
from support.net import free_port, wait_for_port

ENDED = {"COMPLETED", "FAILED", "CANCELLED"}


class _ThreadServer:
    def __init__(self, app: Any, port: int) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.port = port

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


class EngineClient:
    """Talks to a running engine over its HTTP APIs."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url
        # Off dev mode the engine guards /v1 and /v0/gql (dashboard token or the app's signing key).
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=url, timeout=30, headers=headers)

    def sync(self, app_url: str) -> dict[str, Any]:
        res = self.http.post("/v1/apps/sync", json={"url": app_url})
        assert res.status_code == 200, res.text
        return dict(res.json()["data"])

    def send(self, name: str, data: dict[str, Any] | None = None, **extra: Any) -> str:
        res = self.http.post("/e/test-key", json=[{"name": name, "data": data or {}, **extra}])
        assert res.status_code == 200, res.text
        return str(res.json()["ids"][0])

    def runs_of_event(self, event_id: str, count: int = 1, timeout: float = 15) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            res = self.http.get(f"/v1/events/{event_id}")
            if res.status_code == 200:
                runs = res.json()["data"]["runs"]
                if len(runs) >= count:
                    return list(runs)
            if time.monotonic() > deadline:
                raise AssertionError(f"event {event_id}: expected {count} runs")
            time.sleep(0.05)

    def run(self, run_id: str) -> dict[str, Any]:
        res = self.http.get(f"/v1/runs/{run_id}")
        assert res.status_code == 200, res.text
        return dict(res.json()["data"])

    def wait_run(self, run_id: str, timeout: float = 20, status: str | None = None) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                run = self.run(run_id)
            except (httpx.TransportError, AssertionError):
                run = {"status": None}
            if run["status"] in ENDED or (status is not None and run["status"] == status):
                return run
            if time.monotonic() > deadline:
                raise AssertionError(f"run {run_id} still {run['status']} after {timeout}s")
            time.sleep(0.05)

    def run_for(self, name: str, data: dict[str, Any] | None = None, timeout: float = 20) -> dict[str, Any]:
        """Send an event and wait for the (single) run it triggers to end."""
        event_id = self.send(name, data)
        (run,) = self.runs_of_event(event_id)[:1]
        return self.wait_run(run["id"], timeout=timeout)

    def close(self) -> None:
        self.http.close()


@contextmanager
def engine_in_process(database_url: str, **overrides: Any) -> Iterator[EngineClient]:
    port = free_port()
    config = EngineConfig(database_url=database_url, port=port, fast_retries=True, **overrides)
    server = _ThreadServer(create_engine_app(config), port)
    server.start()
    token = None if config.dev or not config.signing_key else hashed_signing_key(config.signing_key)
    client = EngineClient(f"http://127.0.0.1:{port}", token=token)
    try:
        yield client
    finally:
        client.close()
        server.stop()


class EngineProcess:
    """The engine as a subprocess (``python -m marketing_agent.engine.cli``), to SIGKILL it."""

    def __init__(self, database_url: str, port: int | None = None, lease_seconds: float = 2.0) -> None:
        self.database_url = database_url
        self.port = port or free_port()
        self.lease_seconds = lease_seconds
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        cmd = [
            sys.executable, "-m", "marketing_agent.engine.cli", "--port", str(self.port), "--db", self.database_url,
            "--fast-retries", "--lease-seconds", str(self.lease_seconds), "--log-level", "warning",
        ]  # fmt: skip
        self.proc = subprocess.Popen(cmd, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        wait_for_port(self.port, timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError("engine did not become healthy")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def make_client(engine_url: str, app_id: str) -> inngest.Inngest:
    return inngest.Inngest(
        app_id=app_id, is_production=False, api_base_url=engine_url, event_api_base_url=engine_url,
    )  # fmt: skip


@contextmanager
def sdk_app(client: inngest.Inngest, functions: Sequence[inngest.Function[Any]]) -> Iterator[str]:
    """Serve the functions with FastAPI on a free port; yields the serve URL (``…/api/inngest``)."""
    os.environ.setdefault("INNGEST_DEV", "1")
    app = fastapi.FastAPI()
    inngest.fast_api.serve(app, client, list(functions))
    port = free_port()
    server = _ThreadServer(app, port)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}/api/inngest"
    finally:
        server.stop()


@contextmanager
def engine_and_app(
    database_url: str, app_id: str, build: Any, **engine_overrides: Any
) -> Iterator[tuple[EngineClient, Any]]:
    """Engine in-process + an SDK app whose functions ``build(client)`` returns (a list, or (list, extra))."""
    with engine_in_process(database_url, **engine_overrides) as engine:
        client = make_client(engine.url, app_id)
        built = build(client)
        fns, extra = built if isinstance(built, tuple) else (built, None)
        with sdk_app(client, fns) as url:
            engine.sync(url)
            yield engine, extra
