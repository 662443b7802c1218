"""Prompt assembly and the run options."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from marketing_agent.agent.context import ClientContext
from marketing_agent.agent.execute import (
    DEFAULT_MAX_TOKENS,
    SkillError,
    SkillOptions,
    SkillResult,
    build_request,
)
from marketing_agent.agent.skill import Skill, SkillMetadata, SkillSource
from marketing_agent.settings import LLMProviderName

SKILL = Skill(
    name="press-release",
    description="Writes a press release.",
    instructions="Lead with the news.",
    source=SkillSource.BUILTIN,
    metadata=SkillMetadata(
        model="claude-opus-5", max_tokens=3000, temperature=0.4, required_sections=("## Headline", "## Body")
    ),
    rules="Never invent quotes.",
    references=(("references/ap-style.md", "Use AP style."),),
)
CONTEXT = ClientContext(
    slug="acme",
    text="## profile.md\n\nAcme sells rockets.",
    files_included=("profile.md",),
    files_truncated=(),
    files_omitted=(),
    estimated_tokens=10,
)


class _Provider:
    def __init__(self, name: LLMProviderName = LLMProviderName.ANTHROPIC) -> None:
        self.name = name
        self.default_model = "default-model"


def provider(name: LLMProviderName = LLMProviderName.ANTHROPIC) -> Any:
    return _Provider(name)


def test_the_skill_then_the_client_are_cached_system_parts() -> None:
    request = build_request(SKILL, "  Announce the launch. ", SkillOptions(), provider(), CONTEXT)

    skill_part, client_part = request.system
    assert skill_part.cacheable
    assert client_part.cacheable
    for piece in (
        "press-release",
        "Lead with the news.",
        "Never invent quotes.",
        "Use AP style.",
        "## Headline",
    ):
        assert piece in skill_part.text
    assert "Acme sells rockets." in client_part.text
    assert "acme" in client_part.text
    assert [m.content for m in request.messages] == ["Announce the launch."]
    assert request.model == "claude-opus-5"
    assert request.max_tokens == 3000
    assert request.temperature == 0.4


def test_the_skill_part_does_not_depend_on_the_run() -> None:
    """Same skill, different client and message: the same first block, so the cache is shared."""
    first = build_request(SKILL, "one", SkillOptions(), provider(), CONTEXT)
    second = build_request(SKILL, "two", SkillOptions(extra_instructions="short"), provider(), None)
    assert first.system[0] == second.system[0]
    assert len(second.system) == 1


def test_options_override_the_skill() -> None:
    options = SkillOptions(model="claude-haiku-4-5", max_tokens=500, temperature=0, extra_instructions="Be brief.")
    request = build_request(SKILL, "Announce.", options, provider(), None)
    assert request.model == "claude-haiku-4-5"
    assert request.max_tokens == 500
    assert request.temperature == 0
    assert request.messages[0].content == "Announce.\n\nAdditional instructions for this run:\nBe brief."


def test_a_skill_model_of_another_family_is_not_sent() -> None:
    plain = Skill(name="x", description="d", instructions="i", source=SkillSource.BUILTIN)
    request = build_request(SKILL, "m", SkillOptions(), provider(LLMProviderName.OPENAI), None)
    assert request.model == "default-model"
    assert build_request(plain, "m", SkillOptions(), provider(), None).max_tokens == DEFAULT_MAX_TOKENS


def test_options_are_camel_case_on_the_wire_and_refuse_unknown_fields() -> None:
    options = SkillOptions.model_validate({"maxTokens": 800, "extraInstructions": "x", "contextBudgetTokens": 2000})
    assert options.max_tokens == 800
    assert options.context_budget_tokens == 2000
    with pytest.raises(ValidationError, match="maxTokenz"):
        SkillOptions.model_validate({"maxTokenz": 1})
    with pytest.raises(ValidationError):
        SkillOptions.model_validate({"temperature": 3})
    with pytest.raises(ValidationError):
        SkillOptions.model_validate({"maxTokens": 0})


def test_a_result_survives_a_json_round_trip() -> None:
    result = SkillResult(
        skill="press-release",
        client_slug="acme",
        output="# Hi\n",
        title="Hi",
        warnings=("missing required section: ## Body",),
        context_files=("profile.md",),
        error=SkillError("LLM_FATAL", "bad request", retryable=False),
    )
    assert SkillResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result
