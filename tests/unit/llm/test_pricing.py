"""The price table: exact ids, dated snapshots, the local model, unknown models."""

from __future__ import annotations

import logging

import pytest

from marketing_agent.agent.llm import DEFAULT_MODELS, cost_usd, price_of
from marketing_agent.agent.llm.pricing import PRICES
from marketing_agent.settings import LLMProviderName


def test_every_default_cloud_model_has_a_price() -> None:
    assert price_of(DEFAULT_MODELS[LLMProviderName.ANTHROPIC]) is not None
    assert price_of(DEFAULT_MODELS[LLMProviderName.OPENAI]) is not None


def test_dated_snapshots_price_as_their_family_and_the_longest_id_wins() -> None:
    assert price_of("claude-haiku-4-5-20251001") == PRICES["claude-haiku-4-5"]
    assert price_of("claude-opus-4-5-20251101") == PRICES["claude-opus-4-5"]
    assert price_of("gpt-5.4-mini-2026-03-17") == PRICES["gpt-5.4-mini"]
    assert price_of("gpt-4o-mini-2024-07-18") == PRICES["gpt-4o-mini"]
    assert price_of("gpt-4o-2024-08-06") == PRICES["gpt-4o"]


def test_a_model_is_not_priced_as_a_different_version() -> None:
    # "gpt-5.9" is not "gpt-5" and "claude-sonnet-45" is not "claude-sonnet-4".
    assert price_of("gpt-5.9") is None
    assert price_of("claude-sonnet-45") is None


def test_cost_counts_each_token_kind_at_its_rate() -> None:
    cost = cost_usd(
        "claude-sonnet-4-5",
        input_tokens=1_000_000,
        output_tokens=100_000,
        cache_creation_input_tokens=200_000,
        cache_read_input_tokens=2_000_000,
    )
    assert cost == pytest.approx(3 + 1.5 + 0.75 + 0.6)


def test_the_local_model_is_free() -> None:
    cost = cost_usd("SmolLM2-135M-Instruct", provider=LLMProviderName.LOCAL, input_tokens=500, output_tokens=90)
    assert cost == 0.0


def test_an_unknown_model_has_no_cost_and_logs_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="marketing_agent.agent.llm.pricing"):
        assert cost_usd("llama3.2-unknown-test", input_tokens=10, output_tokens=10) is None
    assert "llama3.2-unknown-test" in caplog.text
