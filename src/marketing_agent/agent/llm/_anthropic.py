"""Anthropic's Messages API through the official SDK, with prompt caching on the system prompt."""

from __future__ import annotations

import time
from typing import Any

import anthropic

from marketing_agent.errors import LLMError, LLMFatalError, LLMUnavailable
from marketing_agent.settings import LLMProviderName

from ._errors import body_field, classify_status
from ._protocol import LLMRequest, LLMResponse, Message, ToolCall, log_completion, log_failure

# The Messages API accepts at most four cache breakpoints per request.
_MAX_CACHE_BREAKPOINTS = 4
# Anthropic's server-side web search tool (the API runs the searches; we only see the results).
WEB_SEARCH_TOOL_TYPE = "web_search_20250305"
WEB_SEARCH_TOOL_NAME = "web_search"


class AnthropicProvider:
    """Claude models. SDK retries are off: every attempt is the engine's, visible in the dashboard."""

    def __init__(
        self,
        *,
        api_key: str,
        default_model: str,
        base_url: str | None = None,
        timeout_seconds: float = 120.0,
    ) -> None:
        self._default_model = default_model
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout_seconds
        )

    @property
    def name(self) -> LLMProviderName:
        return LLMProviderName.ANTHROPIC

    @property
    def default_model(self) -> str:
        return self._default_model

    async def complete(self, request: LLMRequest) -> LLMResponse:
        kwargs: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens,
            "messages": [message_param(m) for m in request.messages],
        }
        system = system_blocks(request)
        if system:
            kwargs["system"] = system
        tools = tool_params(request)
        if tools:
            kwargs["tools"] = tools
            if not request.allow_tool_calls:
                kwargs["tool_choice"] = {"type": "none"}
        if request.json_schema is not None:
            kwargs["output_config"] = {"format": {"type": "json_schema", "schema": dict(request.json_schema)}}
        # No temperature: the current Messages API (and SDK) dropped sampling parameters, so
        # ``request.temperature`` is ignored here; the model's default sampling applies.
        started = time.perf_counter()
        try:
            message = await self._client.messages.create(**kwargs)
        except anthropic.AnthropicError as exc:
            error = classify(exc)
            log_failure(self.name, request.model, error, time.perf_counter() - started)
            raise error from exc
        latency = time.perf_counter() - started
        usage = message.usage
        server_use = getattr(usage, "server_tool_use", None)
        calls = tuple(
            ToolCall(id=block.id, name=block.name, input=dict(block.input) if isinstance(block.input, dict) else {})
            for block in message.content
            if block.type == "tool_use"
        )
        response = LLMResponse(
            text="".join(block.text for block in message.content if block.type == "text"),
            model=message.model,
            provider=self.name,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_creation_input_tokens=usage.cache_creation_input_tokens or 0,
            cache_read_input_tokens=usage.cache_read_input_tokens or 0,
            stop_reason=message.stop_reason,
            latency_seconds=latency,
            tool_calls=calls,
            provider_content=tuple(block.model_dump(mode="json", exclude_none=True) for block in message.content),
            server_searches=int(getattr(server_use, "web_search_requests", 0) or 0),
        )
        log_completion(response)
        return response

    async def aclose(self) -> None:
        await self._client.close()


def message_param(message: Message) -> dict[str, Any]:
    """One message in the Messages API's shape: plain text, or content blocks around tool use."""
    if message.role == "assistant" and message.provider_content:
        return {"role": "assistant", "content": list(message.provider_content)}
    if message.tool_calls:
        blocks: list[dict[str, Any]] = [{"type": "text", "text": message.content}] if message.content else []
        blocks += [{"type": "tool_use", "id": c.id, "name": c.name, "input": c.input} for c in message.tool_calls]
        return {"role": message.role, "content": blocks}
    if message.tool_results:
        results: list[dict[str, Any]] = [
            {"type": "tool_result", "tool_use_id": r.call_id, "content": r.content, "is_error": r.is_error}
            for r in message.tool_results
        ]
        if message.content:
            results.append({"type": "text", "text": message.content})
        return {"role": message.role, "content": results}
    return {"role": message.role, "content": message.content}


def tool_params(request: LLMRequest) -> list[dict[str, Any]]:
    """Our tools as the API declares them, plus the server-side web search when it is offered."""
    tools: list[dict[str, Any]] = [
        {"name": t.name, "description": t.description, "input_schema": t.input_schema} for t in request.tools
    ]
    if request.server_web_searches > 0:
        tools.append(
            {"type": WEB_SEARCH_TOOL_TYPE, "name": WEB_SEARCH_TOOL_NAME, "max_uses": request.server_web_searches}
        )
    return tools


def system_blocks(request: LLMRequest) -> list[dict[str, Any]]:
    """System text blocks; the last cacheable ones (up to four) get an ephemeral cache breakpoint.

    A breakpoint caches the whole prefix up to it, so marking the skill block and then the client block
    caches "skill" for every run of that skill and "skill + client" for that client's runs.
    """
    parts = [part for part in request.system if part.text]
    cacheable = [i for i, part in enumerate(parts) if part.cacheable][-_MAX_CACHE_BREAKPOINTS:]
    blocks: list[dict[str, Any]] = []
    for i, part in enumerate(parts):
        block: dict[str, Any] = {"type": "text", "text": part.text}
        if i in cacheable:
            block["cache_control"] = {"type": "ephemeral"}
        blocks.append(block)
    return blocks


def classify(exc: anthropic.AnthropicError) -> LLMError:
    """Our error for an SDK error, by exception type and HTTP status (see ``_errors``)."""
    if isinstance(exc, anthropic.APIStatusError):
        return classify_status(
            "anthropic",
            exc.status_code,
            error_type=body_field(exc.body, "error", "type"),
            error_code=None,
            headers=exc.response.headers,
            detail=body_field(exc.body, "error", "message") or "",
        )
    if isinstance(exc, anthropic.APIConnectionError):  # includes APITimeoutError
        kind = "timed out" if isinstance(exc, anthropic.APITimeoutError) else "could not be reached"
        return LLMUnavailable(f"anthropic {kind}", details={"provider": "anthropic"})
    if isinstance(exc, anthropic.APIResponseValidationError):
        # A malformed answer from the server; a later attempt may get a good one.
        return LLMUnavailable("anthropic sent a response the SDK could not read", details={"provider": "anthropic"})
    return LLMFatalError(f"anthropic client error: {type(exc).__name__}", details={"provider": "anthropic"})
