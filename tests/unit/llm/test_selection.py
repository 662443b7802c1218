"""Which provider runs and which model it is asked for."""

from __future__ import annotations

from typing import Any

import pytest

from marketing_agent.agent.llm import (
    AnthropicProvider,
    LocalProvider,
    OpenAIProvider,
    choose_model,
    make_provider,
    model_family,
    select_provider_name,
)
from marketing_agent.agent.llm._local import find_model_file
from marketing_agent.errors import LLMNotConfigured
from marketing_agent.settings import LLMProviderName, Settings

# Every LLM variable, so the developer's own environment or .env never leaks into these tests.
_LLM_VARS = (
    "LLM_PROVIDER",
    "LLM_MODEL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _LLM_VARS:
        monkeypatch.delenv(name, raising=False)


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, LLMProviderName.LOCAL),
        ({"anthropic_api_key": "k"}, LLMProviderName.ANTHROPIC),
        ({"openai_api_key": "k"}, LLMProviderName.OPENAI),
        ({"openai_base_url": "http://127.0.0.1:11434/v1"}, LLMProviderName.OPENAI),
        ({"anthropic_api_key": "k", "openai_api_key": "k"}, LLMProviderName.ANTHROPIC),
        ({"anthropic_api_key": "k", "llm_provider": "openai", "openai_api_key": "k"}, LLMProviderName.OPENAI),
        ({"anthropic_api_key": "k", "llm_provider": "local"}, LLMProviderName.LOCAL),
        ({"anthropic_api_key": ""}, LLMProviderName.LOCAL),
    ],
)
def test_provider_selection_rules(values: dict[str, Any], expected: LLMProviderName) -> None:
    assert select_provider_name(settings(**values)) is expected


def test_the_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:8080/v1")
    assert select_provider_name(settings()) is LLMProviderName.OPENAI


async def test_make_provider_builds_each_kind() -> None:
    anthropic = make_provider(settings(anthropic_api_key="k"))
    assert isinstance(anthropic, AnthropicProvider)
    assert anthropic.default_model == "claude-sonnet-5-5"
    openai = make_provider(settings(openai_base_url="http://127.0.0.1:9/v1", llm_model="qwen2.5"))
    assert isinstance(openai, OpenAIProvider)
    assert openai.default_model == "qwen2.5"
    await anthropic.aclose()
    await openai.aclose()


def test_an_explicit_provider_without_credentials_says_how_to_configure_it() -> None:
    with pytest.raises(LLMNotConfigured, match="ANTHROPIC_API_KEY"):
        make_provider(settings(llm_provider="anthropic"))
    with pytest.raises(LLMNotConfigured, match="OPENAI_BASE_URL") as caught:
        make_provider(settings(llm_provider="openai"))
    assert caught.value.retryable is False


def test_a_missing_local_model_package_says_how_to_configure_a_provider() -> None:
    with pytest.raises(LLMNotConfigured) as caught:
        find_model_file("no_such_model_package_for_tests")
    message = str(caught.value)
    assert "ANTHROPIC_API_KEY" in message
    assert "OPENAI_BASE_URL" in message
    assert "local-llm" in message
    with pytest.raises(LLMNotConfigured):
        LocalProvider.from_installed("no_such_model_package_for_tests")


class _Fake:
    """Just enough of a provider for choose_model (it reads ``name`` and ``default_model``)."""

    def __init__(self, name: LLMProviderName, default_model: str) -> None:
        self.name = name
        self.default_model = default_model


@pytest.mark.parametrize(
    ("provider", "run_model", "skill_model", "expected"),
    [
        (LLMProviderName.ANTHROPIC, None, None, "default"),
        (LLMProviderName.ANTHROPIC, None, "claude-opus-5", "claude-opus-5"),
        (LLMProviderName.OPENAI, None, "claude-opus-5", "default"),
        (LLMProviderName.OPENAI, None, "gpt-5.4", "gpt-5.4"),
        (LLMProviderName.LOCAL, None, "claude-opus-5", "default"),
        (LLMProviderName.ANTHROPIC, "claude-haiku-4-5", "claude-opus-5", "claude-haiku-4-5"),
        (LLMProviderName.OPENAI, None, "llama3.2", "default"),
    ],
)
def test_model_choice(provider: LLMProviderName, run_model: str | None, skill_model: str | None, expected: str) -> None:
    fake: Any = _Fake(provider, "default")
    assert choose_model(fake, run_model=run_model, skill_model=skill_model) == expected


def test_model_families() -> None:
    assert model_family("claude-sonnet-5-5") is LLMProviderName.ANTHROPIC
    assert model_family("gpt-4.1-mini") is LLMProviderName.OPENAI
    assert model_family("o4-mini") is LLMProviderName.OPENAI
    assert model_family("llama3.2") is None
