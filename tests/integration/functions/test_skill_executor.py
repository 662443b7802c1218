"""CatalogSkillExecutor: the skill catalog and execute_skill behind the functions, with the real anthropic SDK
against the fake Anthropic server. Errors come out typed: retryable ones raise as such, the rest are permanent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from marketing_agent.errors import (
    LLMFatalError,
    LLMNotConfigured,
    LLMRateLimited,
    MarketingAgentError,
    SkillNotFound,
    ValidationFailed,
)
from marketing_agent.functions.wiring import CatalogSkillExecutor
from marketing_agent.settings import Settings
from marketing_agent.storage import MemoryObjectStore
from support.fake_anthropic import FakeAnthropic, anthropic_error


@pytest.fixture
def llm() -> Iterator[FakeAnthropic]:
    with FakeAnthropic(default_text="Here's your copy:\n\n# Hero\n\nFast, calm, done.\n") as server:
        yield server


def settings_for(llm: FakeAnthropic, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "llm_provider": "anthropic",
        "anthropic_api_key": llm.api_key,
        "anthropic_base_url": llm.base_url,
        "llm_timeout_seconds": 10,
        "llm_allowed_models": "claude-test-model",  # a run may pick it (agent/spend.py)
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


@pytest.fixture
async def executor(llm: FakeAnthropic) -> AsyncIterator[CatalogSkillExecutor]:
    run = CatalogSkillExecutor(settings_for(llm), MemoryObjectStore())
    yield run
    await run.aclose()


def permanent(exc: BaseException) -> bool:
    return isinstance(exc, MarketingAgentError) and not exc.retryable


async def test_a_skill_runs_and_reports_usage(executor: CatalogSkillExecutor, llm: FakeAnthropic) -> None:
    outcome = await executor("copywriting", "Homepage hero", None, {"telegram": {"chatId": 1, "messageId": 2}})
    assert outcome.output.startswith("# Hero")  # the "Here's your copy" preamble is cleaned away
    assert outcome.title == "Hero"
    assert outcome.tokens_in > 0
    assert outcome.tokens_out > 0
    assert outcome.cost_usd > 0
    assert outcome.model
    assert len(llm.requests) == 1


async def test_run_options_reach_the_request(executor: CatalogSkillExecutor, llm: FakeAnthropic) -> None:
    await executor("copywriting", "Homepage hero", None, {"maxTokens": 321, "model": "claude-test-model"})
    body = llm.requests[0].json
    assert (body["max_tokens"], body["model"]) == (321, "claude-test-model")


async def test_a_model_off_the_allow_list_is_refused_for_good(
    executor: CatalogSkillExecutor, llm: FakeAnthropic
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        await executor("copywriting", "x", None, {"model": "claude-most-expensive"})
    assert permanent(refused.value)
    assert llm.requests == []


async def test_unknown_skill_and_bad_options_are_permanent(executor: CatalogSkillExecutor) -> None:
    with pytest.raises(SkillNotFound) as missing:
        await executor("no-such-skill", "x", None, {})
    assert permanent(missing.value)
    with pytest.raises(ValidationFailed) as invalid:
        await executor("copywriting", "x", None, {"maxTokens": "lots"})
    assert permanent(invalid.value)


async def test_provider_errors_keep_their_retry_policy(executor: CatalogSkillExecutor, llm: FakeAnthropic) -> None:
    llm.enqueue(anthropic_error(429), anthropic_error(400))
    with pytest.raises(LLMRateLimited) as limited:
        await executor("copywriting", "x", None, {})
    assert limited.value.retryable
    with pytest.raises(LLMFatalError) as fatal:
        await executor("copywriting", "x", None, {})
    assert permanent(fatal.value)


async def test_a_skill_uploaded_after_start_is_found(llm: FakeAnthropic) -> None:
    store = MemoryObjectStore()
    run = CatalogSkillExecutor(settings_for(llm), store)
    try:
        await run("copywriting", "warm up the catalog", None, {})
        skill_md = "---\nname: tagline\ndescription: Writes one tagline.\n---\nWrite one tagline.\n"
        await store.put("skills/tagline/SKILL.md", skill_md.encode())
        outcome = await run("tagline", "For Acme", None, {})
        assert outcome.output
    finally:
        await run.aclose()


async def test_no_usable_provider_fails_permanently(llm: FakeAnthropic) -> None:
    run = CatalogSkillExecutor(settings_for(llm, anthropic_api_key=None), MemoryObjectStore())
    with pytest.raises(LLMNotConfigured) as unconfigured:
        await run("copywriting", "x", None, {})
    assert permanent(unconfigured.value)
    assert "ANTHROPIC_API_KEY" in str(unconfigured.value)


async def test_the_original_bots_options_run_and_only_llm_options_reach_the_provider(
    executor: CatalogSkillExecutor, llm: FakeAnthropic
) -> None:
    # Issue 17: these options were accepted with a 202 and then failed the run ("Extra inputs are not permitted").
    original = {"outputType": "homepage", "telegramChatId": 1, "telegramMessageId": 2, "maxTokens": 333}
    outcome = await executor("copywriting", "Homepage hero", None, original)
    assert outcome.output.startswith("# Hero")
    body = llm.requests[0].json
    assert body["max_tokens"] == 333
    assert "homepage" not in str(body["messages"])  # delivery fields never reach the provider
