"""The Anthropic provider through the real SDK against a local server speaking the Messages API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from marketing_agent.agent.llm import LLMRequest, Message, SystemPart, cost_usd, make_provider
from marketing_agent.agent.llm._anthropic import AnthropicProvider
from marketing_agent.errors import (
    LLMError,
    LLMFatalError,
    LLMOverloaded,
    LLMRateLimited,
    LLMUnavailable,
)
from marketing_agent.settings import LLMProviderName, load_settings
from support.fake_anthropic import FakeAnthropic, anthropic_error
from support.fake_llm_server import FakeReply
from support.net import free_port

SKILL_TEXT = "You write homepage copy. " * 50
REQUEST = LLMRequest(
    system=(SystemPart(SKILL_TEXT, cacheable=True), SystemPart("Client: Acme", cacheable=False)),
    messages=(Message("user", "Write the hero section."),),
    model="claude-sonnet-5-5",
    max_tokens=256,
    temperature=0.3,
)


@pytest.fixture
async def provider(fake_anthropic: FakeAnthropic) -> AsyncIterator[AnthropicProvider]:
    settings = load_settings(anthropic_api_key="test-key", anthropic_base_url=fake_anthropic.base_url)
    made = make_provider(settings)
    assert isinstance(made, AnthropicProvider)
    yield made
    await made.aclose()


async def test_success_reports_text_usage_and_the_cache(
    provider: AnthropicProvider, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.enqueue(FakeReply(text="# Hero\n\nShip faster.\n"))
    first = await provider.complete(REQUEST)
    second = await provider.complete(REQUEST)

    assert first.text == "# Hero\n\nShip faster.\n"
    assert first.provider is LLMProviderName.ANTHROPIC
    assert first.model == "claude-sonnet-5-5"
    assert first.stop_reason == "end_turn"
    assert first.cache_creation_input_tokens > 0
    assert first.cache_read_input_tokens == 0
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    assert second.cache_creation_input_tokens == 0
    assert first.input_tokens > 0
    assert first.output_tokens > 0
    assert first.latency_seconds > 0
    cost = cost_usd(
        first.model,
        provider=first.provider,
        input_tokens=first.input_tokens,
        output_tokens=first.output_tokens,
        cache_creation_input_tokens=first.cache_creation_input_tokens,
    )
    expected = (first.input_tokens * 2 + first.output_tokens * 10 + first.cache_creation_input_tokens * 2.5) / 1e6
    assert cost == pytest.approx(expected)


async def test_the_request_on_the_wire(provider: AnthropicProvider, fake_anthropic: FakeAnthropic) -> None:
    await provider.complete(REQUEST)

    [sent] = fake_anthropic.requests
    assert sent.path == "/v1/messages"
    assert "test-key" in (
        sent.headers.get("x-api-key"),
        sent.headers.get("authorization", "").removeprefix("Bearer "),
    )
    assert sent.headers["anthropic-version"]
    assert sent.json["system"] == [
        {"type": "text", "text": SKILL_TEXT, "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "Client: Acme"},
    ]
    assert sent.json["messages"] == [{"role": "user", "content": "Write the hero section."}]
    assert sent.json["max_tokens"] == 256
    assert "temperature" not in sent.json  # the current Messages API takes no sampling parameters
    # The SDK's own retries are off, so it never tells the server about a retry.
    assert sent.headers.get("x-stainless-retry-count", "0") == "0"


@pytest.mark.parametrize(
    ("reply", "error_class", "retryable"),
    [
        (anthropic_error(429), LLMRateLimited, True),
        (anthropic_error(529), LLMOverloaded, True),
        (anthropic_error(500), LLMUnavailable, True),
        (anthropic_error(503, "api_error"), LLMUnavailable, True),
        (anthropic_error(400), LLMFatalError, False),
        (anthropic_error(401), LLMFatalError, False),
        (anthropic_error(403), LLMFatalError, False),
        (anthropic_error(404), LLMFatalError, False),
        (anthropic_error(413), LLMFatalError, False),
    ],
    ids=lambda value: str(getattr(value, "status", "")),
)
async def test_error_statuses_are_classified(
    provider: AnthropicProvider,
    fake_anthropic: FakeAnthropic,
    reply: FakeReply,
    error_class: type[LLMError],
    retryable: bool,
) -> None:
    fake_anthropic.enqueue(reply)
    with pytest.raises(error_class) as caught:
        await provider.complete(REQUEST)
    assert type(caught.value) is error_class
    assert caught.value.retryable is retryable
    assert caught.value.status == reply.status
    # Exactly one attempt: retries belong to the engine.
    assert len(fake_anthropic.requests) == 1


async def test_overloaded_error_type_is_overloaded_whatever_the_status(
    provider: AnthropicProvider, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.enqueue(anthropic_error(503, "overloaded_error"))
    with pytest.raises(LLMOverloaded):
        await provider.complete(REQUEST)


async def test_rate_limit_carries_retry_after(provider: AnthropicProvider, fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(anthropic_error(429, retry_after="7"))
    with pytest.raises(LLMRateLimited) as caught:
        await provider.complete(REQUEST)
    assert caught.value.retry_after_seconds == 7.0
    assert caught.value.details["error_type"] == "rate_limit_error"


async def test_a_wrong_key_is_fatal(fake_anthropic: FakeAnthropic) -> None:
    provider = AnthropicProvider(api_key="wrong", default_model="claude-sonnet-5-5", base_url=fake_anthropic.base_url)
    with pytest.raises(LLMFatalError) as caught:
        await provider.complete(REQUEST)
    await provider.aclose()
    assert caught.value.status == 401
    assert "wrong" not in str(caught.value)


async def test_a_timeout_is_retryable(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(FakeReply(delay=5))
    provider = AnthropicProvider(
        api_key="test-key",
        default_model="claude-sonnet-5-5",
        base_url=fake_anthropic.base_url,
        timeout_seconds=0.3,
    )
    with pytest.raises(LLMUnavailable) as caught:
        await provider.complete(REQUEST)
    await provider.aclose()
    assert caught.value.retryable
    assert "timed out" in str(caught.value)


async def test_connection_refused_is_retryable() -> None:
    provider = AnthropicProvider(
        api_key="test-key", default_model="claude-sonnet-5-5", base_url=f"http://127.0.0.1:{free_port()}"
    )
    with pytest.raises(LLMUnavailable) as caught:
        await provider.complete(REQUEST)
    await provider.aclose()
    assert caught.value.retryable
