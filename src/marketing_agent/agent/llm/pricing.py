"""The price of every model we know, in one place: USD per million tokens.

A model is found by its exact id or by the longest known id it
starts with, so dated snapshots (``claude-haiku-4-5-20251001``, ``gpt-5.4-mini-2026-03-17``) price as their
family. The local model is free. An unknown model has no cost (``None``) and logs a warning once, so a
run is never failed for a missing price.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from marketing_agent.settings import LLMProviderName

logger = logging.getLogger(__name__)

_MILLION = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """USD per million tokens."""

    input: Decimal
    output: Decimal
    cache_write: Decimal
    cache_read: Decimal


def _price(input_: str, output: str, cache_write: str, cache_read: str) -> ModelPrice:
    return ModelPrice(Decimal(input_), Decimal(output), Decimal(cache_write), Decimal(cache_read))


# Checked against the providers' pricing pages in November 2026 (standard tier; the short-prompt band
# where a model has two: Haiku 5.5 up to 100k prompt tokens, GPT-6.x up to 272k). Anthropic cache writes
# are the 5-minute ones. OpenAI charges nothing extra to write its cache, so its write price is the input
# price (and it never reports cache writes anyway). A model that is not here records no cost: add it.
PRICES: dict[str, ModelPrice] = {
    # --- Anthropic ---------------------------------------------------------------------------------
    "claude-fable-5-1": _price("10", "50", "12.50", "0.25"),
    "claude-mythos-5-1": _price("10", "50", "12.50", "0.25"),
    "claude-fable-5": _price("10", "50", "12.50", "1"),
    "claude-mythos-5": _price("10", "50", "12.50", "1"),
    "claude-opus-5-5": _price("4", "20", "5", "0.20"),
    "claude-opus-5": _price("5", "25", "6.25", "0.50"),
    "claude-opus-4-8": _price("5", "25", "6.25", "0.50"),
    "claude-opus-4-7": _price("5", "25", "6.25", "0.50"),
    "claude-opus-4-6": _price("5", "25", "6.25", "0.50"),
    "claude-opus-4-5": _price("5", "25", "6.25", "0.50"),
    "claude-opus-4-1": _price("15", "75", "18.75", "1.50"),
    "claude-opus-4": _price("15", "75", "18.75", "1.50"),
    "claude-sonnet-5-5": _price("2", "10", "2.50", "0.10"),
    "claude-sonnet-5": _price("2", "10", "2.50", "0.20"),
    "claude-sonnet-4-6": _price("3", "15", "3.75", "0.30"),
    "claude-sonnet-4-5": _price("3", "15", "3.75", "0.30"),
    "claude-sonnet-4": _price("3", "15", "3.75", "0.30"),
    "claude-haiku-5-5": _price("0.10", "0.50", "0.125", "0.01"),
    "claude-haiku-4-5": _price("1", "5", "1.25", "0.10"),
    "claude-3-5-haiku": _price("0.80", "4", "1", "0.08"),
    # --- OpenAI ------------------------------------------------------------------------------------
    "gpt-6-astra": _price("10", "50", "10", "1"),
    "gpt-6.1-sol": _price("2", "10", "2", "0.10"),
    "gpt-5.6-sol": _price("4", "20", "4", "0.40"),
    "gpt-5.6-terra": _price("2", "12", "2", "0.20"),
    "gpt-5.6-luna": _price("0.20", "1.20", "0.20", "0.02"),
    "gpt-5.5": _price("5", "30", "5", "0.50"),
    "gpt-5.4": _price("2.50", "15", "2.50", "0.25"),
    "gpt-5.4-mini": _price("0.75", "4.50", "0.75", "0.075"),
    "gpt-5": _price("1.25", "10", "1.25", "0.125"),
    "gpt-5-mini": _price("0.25", "2", "0.25", "0.025"),
    "gpt-5-nano": _price("0.05", "0.40", "0.05", "0.005"),
    "gpt-4.1": _price("2", "8", "2", "0.50"),
    "gpt-4.1-mini": _price("0.40", "1.60", "0.40", "0.10"),
    "gpt-4.1-nano": _price("0.10", "0.40", "0.10", "0.025"),
    "gpt-4o": _price("2.50", "10", "2.50", "1.25"),
    "gpt-4o-mini": _price("0.15", "0.60", "0.15", "0.075"),
    "o3": _price("2", "8", "2", "0.50"),
    "o4-mini": _price("1.10", "4.40", "1.10", "0.275"),
}

_FREE = ModelPrice(Decimal(0), Decimal(0), Decimal(0), Decimal(0))
_warned: set[str] = set()


def price_of(model: str, provider: LLMProviderName | None = None) -> ModelPrice | None:
    """The model's price, ``None`` when unknown. Everything the local provider runs is free."""
    if provider is LLMProviderName.LOCAL:
        return _FREE
    name = model.strip().lower()
    if name in PRICES:
        return PRICES[name]
    matches = [known for known in PRICES if name.startswith(known + "-")]
    return PRICES[max(matches, key=len)] if matches else None


def cost_usd(
    model: str,
    *,
    provider: LLMProviderName | None = None,
    input_tokens: int,
    output_tokens: int,
    cache_creation_input_tokens: int = 0,
    cache_read_input_tokens: int = 0,
) -> float | None:
    """The call's cost in USD (rounded to a millionth of a cent), or ``None`` for an unknown model.

    ``input_tokens`` excludes cached tokens (Anthropic's meaning, which every provider here reports).
    """
    price = price_of(model, provider)
    if price is None:
        if model not in _warned:
            _warned.add(model)
            logger.warning("no price known for model %r; its runs record no cost", model)
        return None
    total = (
        input_tokens * price.input
        + output_tokens * price.output
        + cache_creation_input_tokens * price.cache_write
        + cache_read_input_tokens * price.cache_read
    ) / _MILLION
    return float(round(total, 8))
