"""The one interface every LLM provider implements, and the plain records it trades in."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from marketing_agent.settings import LLMProviderName

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SystemPart:
    """One block of the system prompt.

    ``cacheable`` marks a block that repeats across calls (a skill's instructions, a client's context):
    providers with prompt caching cache the prompt up to and including it; the others ignore the flag.
    """

    text: str
    cacheable: bool = False


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool the model may call: its name, what it does and a JSON schema of its input."""

    name: str
    description: str
    input_schema: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """The model asking for one tool call (``id`` is the provider's, echoed in the result)."""

    id: str
    name: str
    input: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToolResult:
    """A tool's answer to one :class:`ToolCall`; an error is an answer too (``is_error``)."""

    call_id: str
    content: str
    is_error: bool = False


@dataclass(frozen=True, slots=True)
class Message:
    """One message of the conversation.

    An assistant message may carry ``tool_calls``; the user message after it carries their
    ``tool_results``. ``provider_content`` is an assistant message exactly as the provider sent it
    (Anthropic's server-side web search blocks must be sent back verbatim); when set, the provider that
    made it uses it instead of ``content`` and ``tool_calls``.
    """

    role: Literal["user", "assistant"]
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_results: tuple[ToolResult, ...] = ()
    provider_content: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class LLMRequest:
    system: tuple[SystemPart, ...]
    messages: tuple[Message, ...]
    model: str
    max_tokens: int
    temperature: float | None = None  # None: the provider's default
    #: Tools the model may call (client-side: we run them and send back the results).
    tools: tuple[ToolSpec, ...] = ()
    #: Offer Anthropic's server-side web search tool, with at most this many searches (0: not offered).
    server_web_searches: int = 0
    #: False: the tools stay declared (the conversation refers to them) but the model may not call one.
    allow_tool_calls: bool = True
    #: When set, the answer must be one JSON object matching this schema: Anthropic and OpenAI enforce it
    #: with their structured outputs, the local model with a llama.cpp grammar built from it.
    json_schema: Mapping[str, Any] | None = None
    # For small-model mode (``agent/sectioned.py``), honoured by the local provider only: the text the answer
    # starts with (the model continues it; the returned text leaves it out), strings that end the answer,
    # and llama.cpp's repetition penalty. The remote providers leave them unread.
    prefill: str = ""
    stop: tuple[str, ...] = ()
    repetition_penalty: float | None = None

    @property
    def system_text(self) -> str:
        """The system prompt as one string, for providers without separate blocks."""
        return "\n\n".join(part.text for part in self.system if part.text)


@dataclass(frozen=True, slots=True)
class LLMResponse:
    """What one call produced.

    Token counts follow Anthropic's meaning for every provider: ``input_tokens`` are the input tokens
    billed at the base rate, *excluding* those written to or read from the prompt cache, which are counted
    apart. :attr:`total_input_tokens` is everything the model read.
    """

    text: str
    model: str
    provider: LLMProviderName
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    stop_reason: str | None = None
    latency_seconds: float = 0.0
    #: Things the provider had to adjust (e.g. the local model trimming a prompt to fit its window).
    warnings: tuple[str, ...] = ()
    #: Tools the model asked for; the loop runs them and answers in the next user message.
    tool_calls: tuple[ToolCall, ...] = ()
    #: The assistant message as the provider sent it, to send back verbatim (see :class:`Message`).
    provider_content: tuple[dict[str, Any], ...] = field(default=())
    #: Searches the provider ran itself (Anthropic's server web search), billed per search.
    server_searches: int = 0

    @property
    def total_input_tokens(self) -> int:
        return self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens

    @property
    def truncated(self) -> bool:
        """True when the answer stopped because it reached ``max_tokens``."""
        return self.stop_reason in {"max_tokens", "length"}


@runtime_checkable
class LLMProvider(Protocol):
    """An LLM behind one call. Implementations never retry: the engine owns retries.

    ``complete`` raises only :class:`marketing_agent.errors.LLMError` subclasses, classified by the
    provider's exception type and HTTP status (retryable or not).
    """

    @property
    def name(self) -> LLMProviderName: ...

    @property
    def default_model(self) -> str:
        """The model used when neither the run nor the skill picks one (``LLM_MODEL`` or the built-in)."""
        ...

    async def complete(self, request: LLMRequest) -> LLMResponse: ...

    async def aclose(self) -> None: ...


def supports_tools(provider: LLMProvider) -> bool:
    """Whether the provider can call tools. The offline model cannot: its loop is one turn."""
    return provider.name is not LLMProviderName.LOCAL


def log_completion(response: LLMResponse) -> None:
    """The one log line per LLM call: model, tokens and latency (never the prompt or a key)."""
    logger.info(
        "llm call provider=%s model=%s input_tokens=%d output_tokens=%d cache_write=%d cache_read=%d "
        "stop=%s latency=%.2fs",
        response.provider.value,
        response.model,
        response.input_tokens,
        response.output_tokens,
        response.cache_creation_input_tokens,
        response.cache_read_input_tokens,
        response.stop_reason,
        response.latency_seconds,
    )


def log_failure(provider: LLMProviderName, model: str, error: Exception, latency_seconds: float) -> None:
    """The log line for a failed call (the engine logs and retries; this says what the provider did)."""
    logger.warning(
        "llm call failed provider=%s model=%s error=%s retryable=%s latency=%.2fs",
        provider.value,
        model,
        getattr(error, "code", type(error).__name__),
        getattr(error, "retryable", None),
        latency_seconds,
    )
