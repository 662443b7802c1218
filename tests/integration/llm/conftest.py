"""Fake Anthropic and OpenAI servers on free loopback ports, one per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.fake_anthropic import FakeAnthropic
from support.fake_openai import FakeOpenAI


@pytest.fixture
def fake_anthropic() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as server:
        yield server


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server
