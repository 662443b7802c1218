"""Fixtures for the end-to-end agent tests: fake LLM and Telegram servers, then the whole system."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from support.agent_system import TELEGRAM_TOKEN, AgentSystem, agent_system, system_settings
from support.fake_anthropic import FakeAnthropic
from support.fake_openai import FakeOpenAI
from support.fake_telegram import FakeTelegram, running_fake_telegram


@pytest.fixture
def llm() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(default_text="# Homepage hero\n\nShip faster with Acme.\n") as server:
        yield server


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with running_fake_telegram(TELEGRAM_TOKEN) as fake:
        yield fake


@pytest.fixture
async def system(tmp_path: Path, llm: FakeAnthropic, telegram: FakeTelegram) -> AsyncIterator[AgentSystem]:
    """The system on SQLite (app database and engine store)."""
    settings = system_settings(tmp_path, f"sqlite:///{tmp_path / 'app.db'}", llm, telegram)
    async with agent_system(settings, llm, telegram) as running:
        yield running


@pytest.fixture
async def system_on_openai(tmp_path: Path, telegram: FakeTelegram) -> AsyncIterator[AgentSystem]:
    """The system with an OpenAI-compatible LLM (what Ollama, vLLM and llama.cpp servers speak)."""
    with FakeOpenAI(default_text="# Homepage hero\n\nShip faster with Acme.\n") as llm:
        settings = system_settings(tmp_path, f"sqlite:///{tmp_path / 'app.db'}", llm, telegram)
        async with agent_system(settings, llm, telegram) as running:
            yield running


@pytest.fixture
async def system_on_postgres(
    tmp_path: Path, postgres_url: str, llm: FakeAnthropic, telegram: FakeTelegram
) -> AsyncIterator[AgentSystem]:
    """The same system with its app database on PostgreSQL (a fresh database)."""
    settings = system_settings(tmp_path, postgres_url, llm, telegram)
    async with agent_system(settings, llm, telegram) as running:
        yield running
