"""Running one skill: prompt assembly, the provider call, output cleaning and the format check.

Error policy (what the durable ``skill-execute`` function builds on):

* a **retryable** error (rate limit, overload, 5xx, timeout, connection, storage hiccup) is **raised**,
  so the engine retries the step and every attempt shows in the dashboard;
* a **non-retryable** error (400/401/403/404, context overflow, no provider configured, a client without
  ``profile.md``) is **returned** in :attr:`SkillResult.error` with ``retryable=False``: the caller marks
  the run failed and emits ``skill.execute.failed`` at once. With ``raise_errors=True`` it is raised
  instead (for callers that sort errors by their ``retryable`` flag themselves);
* anything else is a bug and propagates.

Format problems (a missing required section, output cut at ``max_tokens``) never fail a run: they are
kept in :attr:`SkillResult.warnings`.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from marketing_agent.agent.cleaning import check_format, clean_output, derive_title
from marketing_agent.agent.context import DEFAULT_BUDGET_TOKENS, ClientContext, assemble_client_context
from marketing_agent.agent.llm import (
    LLMProvider,
    LLMRequest,
    LLMResponse,
    Message,
    SystemPart,
    choose_model,
    cost_usd,
)
from marketing_agent.agent.skill import Skill
from marketing_agent.errors import MarketingAgentError
from marketing_agent.storage import ObjectStore

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "SkillError",
    "SkillOptions",
    "SkillResult",
    "build_request",
    "execute_skill",
    "finish_result",
    "skill_system_prompt",
]

logger = logging.getLogger(__name__)

# Stop reasons meaning the answer was withheld: Anthropic's refusal, OpenAI's content filter.
_DECLINED = frozenset({"refusal", "content_filter"})

#: ``max_tokens`` when neither the run nor the skill sets one.
DEFAULT_MAX_TOKENS = 4096

_OUTPUT_RULES = (
    "Answer with the deliverable itself, in Markdown: no greeting or introduction before it, no offer of "
    "further help after it. Where facts about the client are missing, make a reasonable assumption and "
    "list it in the deliverable rather than asking a question."
)


class SkillOptions(BaseModel):
    """A run's options (the ``options`` object of ``POST /runs`` and of ``skill.execute``, camelCase on
    the wire). Every field is optional; unknown fields are refused so a typo is a clear 422."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True, protected_namespaces=()
    )

    model: str | None = Field(None, min_length=1, max_length=200, description="Model id; see docs/llm.md.")
    max_tokens: int | None = Field(None, ge=1, le=128_000, description="Most output tokens.")
    temperature: float | None = Field(None, ge=0, le=2, description="Sampling temperature, where supported.")
    extra_instructions: str | None = Field(
        None, max_length=4000, description="Added to the user's message for this run only."
    )
    context_budget_tokens: int = Field(
        DEFAULT_BUDGET_TOKENS, ge=500, le=200_000, description="Token budget of the client context."
    )


@dataclass(frozen=True, slots=True)
class SkillError:
    code: str
    message: str
    retryable: bool

    @classmethod
    def from_exception(cls, exc: MarketingAgentError) -> SkillError:
        return cls(code=exc.code, message=exc.message or str(exc), retryable=exc.retryable)


@dataclass(frozen=True, slots=True)
class SkillResult:
    """What one execution produced. ``tokens_input`` is every input token the model read (cached ones
    included); the cache columns say how many of them were written to / read from the prompt cache."""

    skill: str
    client_slug: str | None
    output: str = ""
    title: str = ""
    model: str = ""
    provider: str = ""
    tokens_input: int = 0
    tokens_output: int = 0
    cache_creation_tokens: int = 0
    cache_read_tokens: int = 0
    cost_usd: float | None = None
    latency_seconds: float = 0.0
    stop_reason: str | None = None
    warnings: tuple[str, ...] = ()
    context_files: tuple[str, ...] = ()
    error: SkillError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe (a step's return value is stored by the engine)."""
        data = asdict(self)
        data["warnings"] = list(self.warnings)
        data["context_files"] = list(self.context_files)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SkillResult:
        values = dict(data)
        values["warnings"] = tuple(values.get("warnings") or ())
        values["context_files"] = tuple(values.get("context_files") or ())
        error = values.get("error")
        values["error"] = SkillError(**error) if isinstance(error, dict) else None
        return cls(**values)


def skill_system_prompt(skill: Skill) -> str:
    """Everything about the skill, stable across runs (so it can be cached): instructions, rules,
    references and the output format."""
    parts = [
        f"You are a senior marketing professional. You are running the skill `{skill.name}`: "
        f"{skill.description.strip()}",
        f"# Skill instructions\n\n{skill.instructions.strip()}",
    ]
    if skill.rules and skill.rules.strip():
        parts.append(f"# Rules (always follow these)\n\n{skill.rules.strip()}")
    if skill.references:
        refs = "\n\n".join(f"## {path}\n\n{text.strip()}" for path, text in skill.references)
        parts.append(f"# Reference material\n\n{refs}")
    output = [_OUTPUT_RULES]
    if skill.metadata.required_sections:
        sections = "\n".join(f"- {s.strip()}" for s in skill.metadata.required_sections)
        output.append(f"The deliverable must contain these sections, as headings, in this order:\n{sections}")
    if skill.metadata.output_format and skill.metadata.output_format.strip().lower() == "json":
        output.append("Answer with one JSON document and nothing else.")
    parts.append("# Output\n\n" + "\n\n".join(output))
    return "\n\n".join(parts)


def client_system_prompt(context: ClientContext) -> str:
    note = ""
    if context.files_omitted or context.files_truncated:
        note = "\n\n(Some of the client's files did not fit and are not shown.)"
    intro = f"# The client: {context.slug}\n\nWhat we know about the client, from their files:"
    return f"{intro}\n\n{context.text}{note}"


def build_request(
    skill: Skill, message: str, options: SkillOptions, provider: LLMProvider, context: ClientContext | None
) -> LLMRequest:
    """The provider request: the skill (cached), the client (cached), then the user's message."""
    system = [SystemPart(skill_system_prompt(skill), cacheable=True)]
    if context is not None:
        system.append(SystemPart(client_system_prompt(context), cacheable=True))
    user = message.strip()
    if options.extra_instructions and options.extra_instructions.strip():
        user += f"\n\nAdditional instructions for this run:\n{options.extra_instructions.strip()}"
    return LLMRequest(
        system=tuple(system),
        messages=(Message("user", user),),
        model=choose_model(provider, run_model=options.model, skill_model=skill.metadata.model),
        max_tokens=options.max_tokens or skill.metadata.max_tokens or DEFAULT_MAX_TOKENS,
        temperature=options.temperature if options.temperature is not None else skill.metadata.temperature,
    )


async def execute_skill(
    skill: Skill,
    message: str,
    client_slug: str | None,
    options: SkillOptions | None = None,
    *,
    provider: LLMProvider,
    store: ObjectStore | None = None,
    raise_errors: bool = False,
) -> SkillResult:
    """Run ``skill`` on ``message`` for ``client_slug`` (or no client). See the module docstring for
    which errors are raised and which are returned. ``store`` is needed when there is a client."""
    options = options or SkillOptions()
    try:
        return await _execute(skill, message, client_slug, options, provider=provider, store=store)
    except MarketingAgentError as exc:
        if exc.retryable or raise_errors:
            raise
        logger.warning("skill %s failed (not retryable, %s): %s", skill.name, exc.code, exc.message)
        return SkillResult(skill=skill.name, client_slug=client_slug, error=SkillError.from_exception(exc))


async def _execute(
    skill: Skill,
    message: str,
    client_slug: str | None,
    options: SkillOptions,
    *,
    provider: LLMProvider,
    store: ObjectStore | None,
) -> SkillResult:
    warnings: list[str] = []
    context: ClientContext | None = None
    if client_slug is not None:
        if store is None:
            raise ValueError("execute_skill needs a store to read the client's context")
        context = await assemble_client_context(store, client_slug, budget_tokens=options.context_budget_tokens)
        if context.files_truncated or context.files_omitted:
            left_out = [*context.files_truncated, *context.files_omitted]
            warnings.append(f"client context over budget; cut or left out: {', '.join(left_out)}")
    request = build_request(skill, message, options, provider, context)
    response = await provider.complete(request)
    warnings.extend(response.warnings)
    return _result(skill, client_slug, response, context, warnings)


def finish_result(
    skill: Skill,
    client_slug: str | None,
    response: LLMResponse,
    context: ClientContext | None,
    warnings: list[str],
) -> SkillResult:
    """The result of a (possibly summed, multi-turn) response: output cleaned, format checked, priced."""
    return _result(skill, client_slug, response, context, warnings)


def _result(
    skill: Skill,
    client_slug: str | None,
    response: LLMResponse,
    context: ClientContext | None,
    warnings: list[str],
) -> SkillResult:
    output = clean_output(response.text)
    if response.truncated:
        warnings.append(f"the output was cut off at the max_tokens limit ({response.output_tokens} tokens)")
    elif response.stop_reason in _DECLINED:
        warnings.append(f"the model declined or was filtered (stop reason {response.stop_reason})")
    warnings.extend(
        check_format(
            output,
            required_sections=skill.metadata.required_sections,
            output_format=skill.metadata.output_format,
        )
    )
    fallback = f"{skill.name} for {client_slug}" if client_slug else skill.name
    cost = cost_usd(
        response.model,
        provider=response.provider,
        input_tokens=response.input_tokens,
        output_tokens=response.output_tokens,
        cache_creation_input_tokens=response.cache_creation_input_tokens,
        cache_read_input_tokens=response.cache_read_input_tokens,
    )
    for warning in warnings:
        logger.info("skill %s: %s", skill.name, warning)
    return SkillResult(
        skill=skill.name,
        client_slug=client_slug,
        output=output,
        title=derive_title(output, fallback),
        model=response.model,
        provider=response.provider.value,
        tokens_input=response.total_input_tokens,
        tokens_output=response.output_tokens,
        cache_creation_tokens=response.cache_creation_input_tokens,
        cache_read_tokens=response.cache_read_input_tokens,
        cost_usd=cost,
        latency_seconds=response.latency_seconds,
        stop_reason=response.stop_reason,
        warnings=tuple(warnings),
        context_files=context.files_included if context else (),
    )
