"""The OpenAI-compatible provider through the real SDK against a local Chat Completions server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from marketing_agent.agent.llm import LLMRequest, Message, SystemPart, make_provider
from marketing_agent.agent.llm._openai import OpenAIProvider
from marketing_agent.errors import LLMError, LLMFatalError, LLMOverloaded, LLMRateLimited, LLMUnavailable
from marketing_agent.settings import LLMProviderName, load_settings
from support.fake_llm_server import FakeReply
from support.fake_openai import FakeOpenAI, openai_error
from support.net import free_port

REQUEST = LLMRequest(
    system=(SystemPart("You write homepage copy.", cacheable=True), SystemPart("Client: Acme")),
    messages=(Message("user", "Write the hero section."),),
    model="gpt-4.1-mini",
    max_tokens=128,
    temperature=0.2,
)


@pytest.fixture
async def provider(fake_openai: FakeOpenAI) -> AsyncIterator[OpenAIProvider]:
    made = make_provider(load_settings(openai_api_key="test-key", openai_base_url=fake_openai.base_url))
    assert isinstance(made, OpenAIProvider)
    yield made
    await made.aclose()


async def test_success_splits_cached_tokens_out_of_the_input(provider: OpenAIProvider, fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(
        FakeReply(
            text="# Hero\n",
            usage={
                "prompt_tokens": 1200,
                "completion_tokens": 40,
                "prompt_tokens_details": {"cached_tokens": 1024},
            },
        )
    )
    response = await provider.complete(REQUEST)

    assert response.text == "# Hero\n"
    assert response.provider is LLMProviderName.OPENAI
    assert response.model == "gpt-4.1-mini"
    assert response.input_tokens == 176
    assert response.cache_read_input_tokens == 1024
    assert response.total_input_tokens == 1200
    assert response.output_tokens == 40
    assert response.stop_reason == "stop"


async def test_the_request_on_the_wire(provider: OpenAIProvider, fake_openai: FakeOpenAI) -> None:
    await provider.complete(REQUEST)

    [sent] = fake_openai.requests
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer test-key"
    assert sent.json["messages"] == [
        {"role": "system", "content": "You write homepage copy.\n\nClient: Acme"},
        {"role": "user", "content": "Write the hero section."},
    ]
    assert sent.json["max_completion_tokens"] == 128
    assert sent.json["temperature"] == 0.2


async def test_reasoning_models_get_max_completion_tokens_and_no_temperature(
    provider: OpenAIProvider, fake_openai: FakeOpenAI
) -> None:
    from dataclasses import replace

    await provider.complete(replace(REQUEST, model="gpt-5-mini"))

    [sent] = fake_openai.requests
    assert sent.json["max_completion_tokens"] == 128
    assert "temperature" not in sent.json


async def test_a_base_url_without_a_key_works_like_ollama() -> None:
    with FakeOpenAI(api_key=None) as server:
        settings = load_settings(openai_base_url=server.base_url, llm_model="llama3.2")
        made = make_provider(settings)
        response = await made.complete(
            LLMRequest(system=(), messages=(Message("user", "hi"),), model=made.default_model, max_tokens=16)
        )
        await made.aclose()
    assert response.model == "llama3.2"
    sent = server.requests[0]
    assert sent.json["model"] == "llama3.2"
    assert sent.json["max_tokens"] == 16  # compatible servers get the classic field


@pytest.mark.parametrize(
    ("reply", "error_class", "retryable"),
    [
        (openai_error(429, code="rate_limit_exceeded"), LLMRateLimited, True),
        (openai_error(429, code="insufficient_quota"), LLMFatalError, False),
        (openai_error(529), LLMOverloaded, True),
        (openai_error(500), LLMUnavailable, True),
        (openai_error(503), LLMUnavailable, True),
        (openai_error(400), LLMFatalError, False),
        (openai_error(400, code="context_length_exceeded"), LLMFatalError, False),
        (openai_error(401, code="invalid_api_key"), LLMFatalError, False),
        (openai_error(403), LLMFatalError, False),
        (openai_error(404, code="model_not_found"), LLMFatalError, False),
    ],
    ids=lambda value: str(getattr(value, "status", "")),
)
async def test_error_statuses_are_classified(
    provider: OpenAIProvider,
    fake_openai: FakeOpenAI,
    reply: FakeReply,
    error_class: type[LLMError],
    retryable: bool,
) -> None:
    fake_openai.enqueue(reply)
    with pytest.raises(error_class) as caught:
        await provider.complete(REQUEST)
    assert type(caught.value) is error_class
    assert caught.value.retryable is retryable
    assert len(fake_openai.requests) == 1


async def test_context_overflow_is_flagged(provider: OpenAIProvider, fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(openai_error(400, code="context_length_exceeded"))
    with pytest.raises(LLMFatalError) as caught:
        await provider.complete(REQUEST)
    assert caught.value.details["context_overflow"] is True


async def test_rate_limit_carries_retry_after_ms(provider: OpenAIProvider, fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(openai_error(429, retry_after_ms="1500"))
    with pytest.raises(LLMRateLimited) as caught:
        await provider.complete(REQUEST)
    assert caught.value.retry_after_seconds == 1.5


async def test_a_timeout_is_retryable(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(FakeReply(delay=5))
    provider = OpenAIProvider(
        api_key="test-key", default_model="gpt-4.1-mini", base_url=fake_openai.base_url, timeout_seconds=0.3
    )
    with pytest.raises(LLMUnavailable):
        await provider.complete(REQUEST)
    await provider.aclose()


async def test_connection_refused_is_retryable() -> None:
    provider = OpenAIProvider(
        api_key="test-key", default_model="gpt-4.1-mini", base_url=f"http://127.0.0.1:{free_port()}/v1"
    )
    with pytest.raises(LLMUnavailable) as caught:
        await provider.complete(REQUEST)
    await provider.aclose()
    assert caught.value.retryable


async def test_a_key_echoed_in_an_error_message_is_masked(provider: OpenAIProvider, fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(
        openai_error(401, code="invalid_api_key", message="Incorrect API key provided: sk-proj-abc123secret.")
    )
    with pytest.raises(LLMFatalError) as caught:
        await provider.complete(REQUEST)
    assert "abc123secret" not in str(caught.value)
    assert "[redacted]" in str(caught.value)
