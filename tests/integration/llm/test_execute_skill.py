"""execute_skill end to end: a real skill, a client in a real local store, the real SDKs, fake servers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from marketing_agent.agent.execute import SkillOptions, SkillResult, execute_skill
from marketing_agent.agent.llm import LLMProvider, make_provider
from marketing_agent.agent.skill import Skill, SkillSource
from marketing_agent.agent.skills import builtin_skills_dir, load_skill_folder
from marketing_agent.errors import LLMFatalError, LLMOverloaded, LLMRateLimited
from marketing_agent.settings import load_settings
from marketing_agent.storage import LocalObjectStore
from support.fake_anthropic import FakeAnthropic, anthropic_error
from support.fake_llm_server import FakeReply
from support.fake_openai import FakeOpenAI

ANSWER = (
    "Sure! Here's the homepage copy for Acme:\n\n"
    "# Acme homepage\n\n## Brief\n\nRockets for small teams.\n\n## Headline options\n\n* Launch today\n"
    "* Orbit by Friday\n\n## Page copy\n\nBody.   \n\nLet me know if you'd like changes!"
)


@pytest.fixture
def skill() -> Skill:
    return load_skill_folder(builtin_skills_dir() / "copywriting", SkillSource.BUILTIN)


@pytest.fixture
async def store(tmp_path: Path) -> LocalObjectStore:
    store = LocalObjectStore(tmp_path / "storage")
    await store.put("clients/acme/profile.md", b"# Acme\n\nAcme sells reusable rockets to small teams.\n")
    await store.put("clients/acme/brand-voice.md", b"# Voice\n\nPlain, confident, no jargon.\n")
    return store


@pytest.fixture
async def anthropic(fake_anthropic: FakeAnthropic) -> AsyncIterator[LLMProvider]:
    provider = make_provider(load_settings(anthropic_api_key="test-key", anthropic_base_url=fake_anthropic.base_url))
    yield provider
    await provider.aclose()


async def test_a_run_with_a_client(
    skill: Skill, store: LocalObjectStore, anthropic: LLMProvider, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.enqueue(FakeReply(text=ANSWER))
    result = await execute_skill(
        skill,
        "Write our homepage.",
        "acme",
        SkillOptions(extra_instructions="Mention the Friday launch."),
        provider=anthropic,
        store=store,
    )

    assert result.ok
    assert result.output == (
        "# Acme homepage\n\n## Brief\n\nRockets for small teams.\n\n## Headline options\n\n- Launch today\n"
        "- Orbit by Friday\n\n## Page copy\n\nBody.\n"
    )
    assert result.title == "Acme homepage"
    assert result.warnings == (
        "missing required section: ## Calls to action",
        "missing required section: ## Notes and assumptions",
    )
    assert result.provider == "anthropic"
    assert result.model == "claude-sonnet-5-5"
    assert result.context_files == ("profile.md", "brand-voice.md")
    assert result.cache_creation_tokens > 0
    assert result.tokens_input > result.cache_creation_tokens
    assert result.tokens_output > 0
    assert result.cost_usd is not None
    assert result.cost_usd > 0

    [sent] = fake_anthropic.requests
    skill_block, client_block = sent.json["system"]
    assert skill_block["cache_control"] == {"type": "ephemeral"}
    assert "# Copywriting" in skill_block["text"]
    assert "Acme sells reusable rockets" in client_block["text"]
    assert "Plain, confident, no jargon." in client_block["text"]
    assert sent.json["max_tokens"] == skill.metadata.max_tokens
    user = sent.json["messages"][0]["content"]
    assert user.startswith("Write our homepage.")
    assert "Mention the Friday launch." in user


async def test_the_second_run_reads_the_prompt_cache(
    skill: Skill, store: LocalObjectStore, anthropic: LLMProvider
) -> None:
    first = await execute_skill(skill, "Homepage.", "acme", provider=anthropic, store=store)
    second = await execute_skill(skill, "Pricing page.", "acme", provider=anthropic, store=store)
    assert first.cache_read_tokens == 0
    assert second.cache_read_tokens == first.cache_creation_tokens
    assert second.cost_usd is not None
    assert first.cost_usd is not None
    assert second.cost_usd < first.cost_usd


async def test_an_output_cut_at_max_tokens_is_a_warning(
    skill: Skill, anthropic: LLMProvider, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.enqueue(FakeReply(text="# Half\n\nThe copy", stop_reason="max_tokens"))
    result = await execute_skill(skill, "Homepage.", None, SkillOptions(max_tokens=10), provider=anthropic)
    assert result.ok
    assert result.title == "Half"
    assert any("max_tokens" in warning for warning in result.warnings)
    assert fake_anthropic.requests[0].json["max_tokens"] == 10


@pytest.mark.parametrize("reply", [anthropic_error(429, retry_after="2"), anthropic_error(529)])
async def test_a_retryable_error_is_raised_for_the_engine(
    skill: Skill, anthropic: LLMProvider, fake_anthropic: FakeAnthropic, reply: FakeReply
) -> None:
    fake_anthropic.enqueue(reply)
    with pytest.raises((LLMRateLimited, LLMOverloaded)) as caught:
        await execute_skill(skill, "Homepage.", None, provider=anthropic)
    assert caught.value.retryable


async def test_a_fatal_error_is_returned_not_raised(
    skill: Skill, anthropic: LLMProvider, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.enqueue(anthropic_error(400, message="prompt is too long"))
    result = await execute_skill(skill, "Homepage.", None, provider=anthropic)
    assert not result.ok
    assert result.error is not None
    assert result.error.code == "LLM_FATAL"
    assert result.error.retryable is False
    assert result.output == ""
    # The result is JSON-safe: it can be a step's return value.
    assert SkillResult.from_dict(result.to_dict()) == result

    fake_anthropic.enqueue(anthropic_error(400))
    with pytest.raises(LLMFatalError):
        await execute_skill(skill, "Homepage.", None, provider=anthropic, raise_errors=True)


async def test_a_client_without_a_profile_fails_before_any_llm_call(
    skill: Skill, store: LocalObjectStore, anthropic: LLMProvider, fake_anthropic: FakeAnthropic
) -> None:
    result = await execute_skill(skill, "Homepage.", "nobody", provider=anthropic, store=store)
    assert result.error is not None
    assert result.error.code == "CLIENT_CONTEXT_MISSING"
    assert result.error.retryable is False
    assert fake_anthropic.requests == []


async def test_through_an_openai_compatible_server(skill: Skill, store: LocalObjectStore) -> None:
    with FakeOpenAI(api_key=None) as server:
        server.enqueue(FakeReply(text=ANSWER, usage={"prompt_tokens": 900, "completion_tokens": 60}))
        provider = make_provider(load_settings(openai_base_url=server.base_url, llm_model="llama3.2"))
        result = await execute_skill(skill, "Homepage.", "acme", provider=provider, store=store)
        await provider.aclose()
    assert result.ok
    assert result.provider == "openai"
    assert result.model == "llama3.2"
    assert result.tokens_input == 900
    assert result.tokens_output == 60
    assert result.cost_usd is None  # a local server's model has no price
    assert result.title == "Acme homepage"
    system = server.requests[0].json["messages"][0]
    assert system["role"] == "system"
    assert "Acme sells reusable rockets" in system["content"]


async def test_a_refusal_is_a_warning(skill: Skill, anthropic: LLMProvider, fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(FakeReply(text="I can't help with that.", stop_reason="refusal"))
    result = await execute_skill(skill, "Homepage.", None, provider=anthropic)
    assert result.ok
    assert "the model declined or was filtered (stop reason refusal)" in result.warnings
    assert result.title == "copywriting"
