"""SIGKILL the engine while a workflow waits for a review: the review sent after the restart resumes it.

Real processes (the reliability harness): the engine and the API with its functions, a SQLite app database
and engine store, the fake Anthropic server in this process. The built-in ``content-batch`` workflow:
``posts`` (awaits approval) then ``calendar``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reliability.harness import System
from support.fake_anthropic import FakeAnthropic

pytestmark = pytest.mark.slow


@pytest.fixture
def fake_llm() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(api_key="test-key", default_text="# Posts\n\n1. Ship faster.\n") as server:
        yield server


async def _wait(http: httpx.AsyncClient, path: str, check: Any, what: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        try:
            reply = await http.get(path)
            if reply.status_code == 200:
                last = reply.json()["data"]
                if check(last):
                    return last
        except httpx.TransportError:
            pass  # a process is (re)starting
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what} not reached in {timeout}s: {last}")


async def test_a_review_after_an_engine_sigkill_resumes_the_workflow(
    tmp_path: Path, fake_llm: FakeAnthropic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_RATE_LIMIT_PER_MINUTE", "0")  # the test polls; the processes read the environment
    system = System(
        root=tmp_path,
        llm_origin=fake_llm.origin,
        app_database_url=f"sqlite:///{tmp_path / 'app.db'}",
        engine_database_url=f"sqlite:///{tmp_path / 'engine.db'}",
    )
    [key] = await system.prepare(1)
    try:
        system.start_api()
        system.start_engine()
        async with httpx.AsyncClient(
            base_url=f"{system.api_url}/api/v1", headers={"Authorization": f"Bearer {key}"}, timeout=30
        ) as api:
            await _wait(api, "/workflows", lambda d: d["total"] >= 4, "the API answering")
            started = None
            deadline = time.monotonic() + 60
            while started is None or started.status_code != 202:
                # The engine syncs the functions at start; until then the event may find no function.
                started = await api.post("/workflows/content-batch/runs", json={"inputs": {"topic": "CI", "count": 3}})
                assert time.monotonic() < deadline, started.text
                if started.status_code != 202:
                    await asyncio.sleep(0.2)
            wr = started.json()["data"]["workflowRunId"]

            def stage(run: dict[str, Any], name: str) -> str:
                return str(next(s["status"] for s in run["stages"] if s["name"] == name))

            run = await _wait(api, f"/workflow-runs/{wr}", lambda r: stage(r, "posts") == "awaiting_review", "review")
            async with httpx.AsyncClient(timeout=10) as http:
                # Kill it mid-wait: once the engine shows the function run's wait for the review.
                await _wait(
                    http,
                    f"{system.engine_url}/v1/runs/{run['engineRunId']}",
                    lambda d: any(s["status"] == "waiting" for s in d["steps"]),
                    "the engine waiting for the review",
                )
            system.kill("engine")
            system.start_engine()
            async with httpx.AsyncClient(timeout=10) as http:
                await _wait(http, f"{system.engine_url}/v1/functions", bool, "engine back")
            reviewed = await api.post(f"/workflow-runs/{wr}/stages/posts/review", json={"decision": "approve"})
            assert reviewed.status_code == 202, reviewed.text
            run = await _wait(api, f"/workflow-runs/{wr}", lambda r: r["status"] != "awaiting_review"
                              and r["status"] != "running", "the end", timeout=90)  # fmt: skip
            assert run["status"] == "completed", f"{run}\n{system.logs()}"
            assert [s["status"] for s in run["stages"]] == ["approved", "completed"]
            assert len(fake_llm.requests) == 2
    finally:
        system.stop()
