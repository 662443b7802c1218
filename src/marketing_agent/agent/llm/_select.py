"""Which provider runs, and which model it is asked for.

Provider: ``LLM_PROVIDER`` when set; otherwise Anthropic when ``ANTHROPIC_API_KEY`` is set,
OpenAI-compatible when ``OPENAI_BASE_URL`` or ``OPENAI_API_KEY`` is set, else the local model.

Model, first that applies: the run's ``options.model``; the skill's ``metadata.model`` when it belongs
to the running provider's family (skills are written for Claude, and a Claude id means nothing to an
Ollama server); ``LLM_MODEL``; the provider's built-in default below.
"""

from __future__ import annotations

import logging

from marketing_agent.errors import LLMNotConfigured
from marketing_agent.settings import LLMProviderName, Settings

from ._anthropic import AnthropicProvider
from ._local import LOCAL_MODEL_NAME, LocalProvider
from ._openai import OpenAIProvider, is_openai_model
from ._protocol import LLMProvider

logger = logging.getLogger(__name__)

#: The model each provider runs when nothing else picks one.
DEFAULT_MODELS: dict[LLMProviderName, str] = {
    LLMProviderName.ANTHROPIC: "claude-sonnet-5-5",
    LLMProviderName.OPENAI: "gpt-5.4-mini",
    LLMProviderName.LOCAL: LOCAL_MODEL_NAME,
}


def select_provider_name(settings: Settings) -> LLMProviderName:
    if settings.llm_provider is not None:
        return settings.llm_provider
    if settings.anthropic_api_key is not None and settings.anthropic_api_key.get_secret_value():
        return LLMProviderName.ANTHROPIC
    if settings.openai_base_url or (settings.openai_api_key is not None and settings.openai_api_key.get_secret_value()):
        return LLMProviderName.OPENAI
    return LLMProviderName.LOCAL


def make_provider(settings: Settings) -> LLMProvider:
    """The configured provider, or :class:`LLMNotConfigured` saying how to configure one."""
    name = select_provider_name(settings)
    model = settings.llm_model or DEFAULT_MODELS[name]
    if name is LLMProviderName.ANTHROPIC:
        key = settings.anthropic_api_key.get_secret_value() if settings.anthropic_api_key else ""
        if not key:
            raise LLMNotConfigured("LLM_PROVIDER is anthropic but ANTHROPIC_API_KEY is not set.")
        provider: LLMProvider = AnthropicProvider(
            api_key=key,
            default_model=model,
            base_url=settings.anthropic_base_url,
            timeout_seconds=settings.llm_timeout_seconds,
        )
    elif name is LLMProviderName.OPENAI:
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
        if not key and not settings.openai_base_url:
            raise LLMNotConfigured(
                "LLM_PROVIDER is openai but neither OPENAI_API_KEY nor OPENAI_BASE_URL is set "
                "(a key for OpenAI itself; a base URL, key optional, for Ollama, vLLM or llama.cpp)."
            )
        provider = OpenAIProvider(
            api_key=key or None,
            default_model=model,
            base_url=settings.openai_base_url,
            timeout_seconds=settings.llm_timeout_seconds,
        )
    else:
        provider = LocalProvider.from_installed()
    logger.info("LLM provider: %s (default model %s)", name.value, provider.default_model)
    return provider


def model_family(model: str) -> LLMProviderName | None:
    """The provider family a model id belongs to, when it is recognisably Claude or OpenAI."""
    name = model.strip().lower()
    if name.startswith("claude"):
        return LLMProviderName.ANTHROPIC
    if is_openai_model(name):
        return LLMProviderName.OPENAI
    if name == LOCAL_MODEL_NAME.lower():
        return LLMProviderName.LOCAL
    return None


def choose_model(provider: LLMProvider, *, run_model: str | None, skill_model: str | None) -> str:
    """The model for one call (the order is in this module's docstring)."""
    if run_model:
        return run_model
    if skill_model and model_family(skill_model) is provider.name:
        return skill_model
    if skill_model:
        logger.debug("skill model %s is not a %s model; using %s", skill_model, provider.name, provider.default_model)
    return provider.default_model
