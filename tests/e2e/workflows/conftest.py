"""Workflows end to end: API, engine, functions, fake LLM and fake Telegram on real servers.

Test workflows are written to a ``WORKFLOWS_DIR``: a three-stage review chain, a diamond of parallel stages,
and a one-stage workflow whose review times out after two seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from support.agent_system import TELEGRAM_TOKEN, AgentSystem, agent_system, system_settings
from support.fake_anthropic import FakeAnthropic
from support.fake_telegram import FakeTelegram, running_fake_telegram

CHAIN = """
name: review-chain
description: Draft, rewrite, polish.
inputs:
  - name: product
stages:
  - name: draft
    skill: positioning
    approval: true
    message: Position {{ inputs.product }}.
  - name: rewrite
    skill: copywriting
    approval: true
    context: [draft]
    message: Write the homepage for {{ inputs.product }}.
  - name: polish
    skill: copy-editing
    context: [rewrite]
    message: Polish the homepage ({{ stages.rewrite.title }}).
"""

DIAMOND = """
name: diamond
description: Two independent stages, then one that joins them.
inputs:
  - name: product
stages:
  - name: left
    skill: positioning
    message: Position {{ inputs.product }}.
  - name: right
    skill: customer-research
    message: Research buyers of {{ inputs.product }}.
  - name: join
    skill: copywriting
    context: [left, right]
    message: Write the homepage.
"""

QUICK_TIMEOUT = """
name: quick-timeout
description: One stage whose review expires fast.
review_timeout: 2s
stages:
  - name: only
    skill: copywriting
    approval: true
    message: Write a tagline.
"""

CHAT = 5151


@pytest.fixture
def llm() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(default_text="# Draft\n\nShip faster with Acme.\n") as server:
        yield server


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with running_fake_telegram(TELEGRAM_TOKEN) as fake:
        yield fake


def write_workflows(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (("review-chain", CHAIN), ("diamond", DIAMOND), ("quick-timeout", QUICK_TIMEOUT)):
        (folder / f"{name}.yaml").write_text(text)
    return folder


@pytest.fixture
async def system(tmp_path: Path, llm: FakeAnthropic, telegram: FakeTelegram) -> AsyncIterator[AgentSystem]:
    settings = system_settings(tmp_path, f"sqlite:///{tmp_path / 'app.db'}", llm, telegram)
    settings = settings.model_copy(
        update={"workflows_dir": write_workflows(tmp_path / "workflows"), "api_rate_limit_per_minute": 0}
    )
    async with agent_system(settings, llm, telegram) as running:
        await running.link_chat(CHAT)
        yield running


async def start_workflow(system: AgentSystem, name: str, inputs: dict[str, Any] | None = None) -> str:
    reply = await system.api.post(f"/workflows/{name}/runs", json={"inputs": inputs or {}})
    assert reply.status_code == 202, reply.text
    assert reply.json()["data"]["status"] == "running"
    return str(reply.json()["data"]["workflowRunId"])


async def wait_workflow(
    system: AgentSystem, workflow_run_id: str, *, stage: str | None = None, status: str, timeout: float = 30.0
) -> dict[str, Any]:
    """The workflow run once it (or ``stage``) has ``status``; fails fast when it ended otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        reply = await system.api.get(f"/workflow-runs/{workflow_run_id}")
        assert reply.status_code == 200, reply.text
        run: dict[str, Any] = reply.json()["data"]
        current = run["status"] if stage is None else next(s["status"] for s in run["stages"] if s["name"] == stage)
        if current == status:
            return run
        ended = run["status"] in {"completed", "rejected", "expired", "cancelled", "failed"}
        if ended and (stage is None or current in {"completed", "approved", "rejected", "failed", "skipped"}):
            raise AssertionError(f"expected {stage or 'workflow'} {status}, but it ended: {run}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{stage or 'workflow'} still {current} after {timeout}s: {run}")
        await asyncio.sleep(0.05)


def stage_of(run: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in run["stages"] if s["name"] == name)
