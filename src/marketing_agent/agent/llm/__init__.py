"""LLM providers behind one protocol: Anthropic, OpenAI-compatible and the offline local model.

``make_provider(settings)`` picks one (see ``_select``); ``pricing`` holds the price table.
"""

from ._anthropic import AnthropicProvider
from ._local import LOCAL_MODEL_NAME, LocalProvider, find_model_file
from ._openai import OpenAIProvider
from ._protocol import (
    LLMProvider,
    LLMRequest,
    LLMResponse,
    Message,
    SystemPart,
    ToolCall,
    ToolResult,
    ToolSpec,
    supports_tools,
)
from ._select import DEFAULT_MODELS, choose_model, make_provider, model_family, select_provider_name
from .pricing import ModelPrice, cost_usd, price_of

__all__ = [
    "DEFAULT_MODELS",
    "LOCAL_MODEL_NAME",
    "AnthropicProvider",
    "LLMProvider",
    "LLMRequest",
    "LLMResponse",
    "LocalProvider",
    "Message",
    "ModelPrice",
    "OpenAIProvider",
    "SystemPart",
    "ToolCall",
    "ToolResult",
    "ToolSpec",
    "choose_model",
    "cost_usd",
    "find_model_file",
    "make_provider",
    "model_family",
    "price_of",
    "select_provider_name",
    "supports_tools",
]
