"""OpenAI's Chat Completions API through the official SDK; also Ollama, vLLM and llama.cpp servers."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import openai

from marketing_agent.errors import LLMError, LLMFatalError, LLMUnavailable
from marketing_agent.settings import LLMProviderName

from ._errors import body_field, classify_status
from ._protocol import LLMRequest, LLMResponse, Message, ToolCall, log_completion, log_failure

# OpenAI's own models take ``max_completion_tokens`` (``max_tokens`` is deprecated there and refused by
# the reasoning models, which also refuse a temperature). The compatible servers (Ollama, vLLM,
# llama.cpp) serve other model names and take ``max_tokens``.
_OPENAI_MODEL = re.compile(r"^(gpt-|chatgpt-|o\d)")
_REASONING_MODEL = re.compile(r"^(o\d|gpt-[5-9])")
# Local servers ignore the key, but the SDK refuses to start without one.
PLACEHOLDER_API_KEY = "not-needed"


def is_openai_model(model: str) -> bool:
    return _OPENAI_MODEL.match(model.strip().lower()) is not None


def is_reasoning_model(model: str) -> bool:
    return _REASONING_MODEL.match(model.strip().lower()) is not None


class OpenAIProvider:
    """OpenAI or any server speaking its Chat Completions API. SDK retries off: the engine retries."""

    def __init__(
        self,
        *,
        default_model: str,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout_seconds: float = 120.0,
    ) -> None:
        self._default_model = default_model
        self._client = openai.AsyncOpenAI(
            api_key=api_key or PLACEHOLDER_API_KEY, base_url=base_url, max_retries=0, timeout=timeout_seconds
        )

    @property
    def name(self) -> LLMProviderName:
        return LLMProviderName.OPENAI

    @property
    def default_model(self) -> str:
        return self._default_model

    async def complete(self, request: LLMRequest) -> LLMResponse:
        messages: list[dict[str, Any]] = []
        if request.system_text:
            # Chat Completions has no cache flag: OpenAI caches long identical prefixes on its own, so
            # keeping the stable skill text first is all the caching we can do.
            messages.append({"role": "system", "content": request.system_text})
        for m in request.messages:
            messages.extend(message_params(m))
        kwargs: dict[str, Any] = {"model": request.model, "messages": messages}
        if request.tools:
            kwargs["tools"] = [
                {
                    "type": "function",
                    "function": {"name": t.name, "description": t.description, "parameters": t.input_schema},
                }
                for t in request.tools
            ]
            if not request.allow_tool_calls:
                kwargs["tool_choice"] = "none"
        tokens_field = "max_completion_tokens" if is_openai_model(request.model) else "max_tokens"
        kwargs[tokens_field] = request.max_tokens
        if request.temperature is not None and not is_reasoning_model(request.model):
            kwargs["temperature"] = request.temperature
        if request.json_schema is not None:
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": dict(request.json_schema), "strict": True},
            }
        started = time.perf_counter()
        try:
            completion = await self._client.chat.completions.create(**kwargs)
        except openai.OpenAIError as exc:
            error = classify(exc)
            log_failure(self.name, request.model, error, time.perf_counter() - started)
            raise error from exc
        latency = time.perf_counter() - started
        if not completion.choices:
            raise LLMUnavailable("openai answered with no choices", details={"provider": "openai"})
        choice = completion.choices[0]
        usage = completion.usage
        prompt_tokens = usage.prompt_tokens if usage else 0
        cached = 0
        if usage and usage.prompt_tokens_details and usage.prompt_tokens_details.cached_tokens:
            cached = usage.prompt_tokens_details.cached_tokens
        response = LLMResponse(
            text=choice.message.content or "",
            tool_calls=tool_calls_of(choice.message.tool_calls),
            model=completion.model or request.model,
            provider=self.name,
            # OpenAI counts cached tokens inside prompt_tokens; split them out (see LLMResponse).
            input_tokens=max(0, prompt_tokens - cached),
            output_tokens=usage.completion_tokens if usage else 0,
            cache_read_input_tokens=cached,
            stop_reason=choice.finish_reason,
            latency_seconds=latency,
        )
        log_completion(response)
        return response

    async def aclose(self) -> None:
        await self._client.close()


def message_params(message: Message) -> list[dict[str, Any]]:
    """One of our messages as Chat Completions messages: tool results are one ``tool`` message each."""
    if message.tool_calls:
        calls = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.input)}}
            for c in message.tool_calls
        ]
        return [{"role": "assistant", "content": message.content or None, "tool_calls": calls}]
    if message.tool_results:
        out: list[dict[str, Any]] = [
            {"role": "tool", "tool_call_id": r.call_id, "content": ("Error: " if r.is_error else "") + r.content}
            for r in message.tool_results
        ]
        if message.content:
            out.append({"role": "user", "content": message.content})
        return out
    return [{"role": message.role, "content": message.content}]


def tool_calls_of(calls: Any) -> tuple[ToolCall, ...]:
    """The function calls of a completion; arguments that are not a JSON object become ``{}`` (the tool
    then answers with an error naming the missing input)."""
    result: list[ToolCall] = []
    for call in calls or ():
        function = getattr(call, "function", None)
        if function is None:  # a custom (non-function) tool call: we declare none
            continue
        try:
            arguments = json.loads(function.arguments or "{}")
        except ValueError:
            arguments = {}
        result.append(ToolCall(id=call.id, name=function.name, input=arguments if isinstance(arguments, dict) else {}))
    return tuple(result)


def classify(exc: openai.OpenAIError) -> LLMError:
    """Our error for an SDK error, by exception type, HTTP status and the body's ``type``/``code``."""
    if isinstance(exc, openai.APIStatusError):
        # The SDK hands over the ``error`` object of the body (or the whole body when there is none).
        body = exc.body
        return classify_status(
            "openai",
            exc.status_code,
            error_type=body_field(body, "type") or body_field(body, "error", "type"),
            error_code=body_field(body, "code") or body_field(body, "error", "code"),
            headers=exc.response.headers,
            detail=body_field(body, "message") or body_field(body, "error", "message") or "",
        )
    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        kind = "timed out" if isinstance(exc, openai.APITimeoutError) else "could not be reached"
        return LLMUnavailable(f"openai {kind}", details={"provider": "openai"})
    if isinstance(exc, openai.APIResponseValidationError):
        return LLMUnavailable("openai sent a response the SDK could not read", details={"provider": "openai"})
    return LLMFatalError(f"openai client error: {type(exc).__name__}", details={"provider": "openai"})
