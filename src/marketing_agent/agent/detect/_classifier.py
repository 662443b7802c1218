"""The model step of detection: a small, cheap LLM call that picks one skill name or none.

The answer is forced into a JSON schema whose ``skill`` is an ``enum`` of the catalogue's names or null:
Anthropic and OpenAI enforce it with structured outputs, the offline model with a llama.cpp grammar built
from the same schema, so even a 135M model can only answer a real skill name. The model is the configured
provider's cheapest one (from the price table); an OpenAI-compatible server of one's own (``OPENAI_BASE_URL``)
and the offline model keep their default model, the only one they are known to serve.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from marketing_agent.agent.llm import (
    LLMProvider,
    LLMRequest,
    Message,
    SystemPart,
    make_provider,
    model_family,
)
from marketing_agent.agent.llm.pricing import PRICES
from marketing_agent.errors import LLMError
from marketing_agent.settings import LLMProviderName, Settings

from ._keywords import SkillCandidate, SkillProfile

logger = logging.getLogger(__name__)

#: Enough for ``{"skill": "<longest name>", "confidence": 0.95}``.
MAX_ANSWER_TOKENS = 80
#: The request is cut to this many characters: the first part says what is wanted.
MAX_REQUEST_CHARS = 2_000
_DESCRIPTION_CHARS = 160
#: The offline model chooses only among this many keyword candidates (or none). Offered the whole
#: catalogue, a 135M model names a confident, wrong skill for most requests (measured in docs/skills.md).
OFFLINE_SHORTLIST = 3


@dataclass(frozen=True, slots=True)
class ModelChoice:
    skill: str | None  # None: the model says no skill fits
    confidence: float  # 0–1, as the model reported it
    model: str


class SkillClassifier(Protocol):
    """Picks a skill for a request the keywords could not settle."""

    async def classify(
        self, text: str, skills: Sequence[SkillProfile], candidates: Sequence[SkillCandidate]
    ) -> ModelChoice | None:
        """The model's choice among ``skills`` (``candidates``: the keyword ranking, best first); None when
        no model is available or its answer was unusable."""
        ...

    async def aclose(self) -> None: ...


def answer_schema(names: Sequence[str]) -> dict[str, Any]:
    """The JSON schema of the answer: one of ``names`` or null, and a confidence."""
    return {
        "type": "object",
        "properties": {
            "skill": {"anyOf": [{"type": "string", "enum": list(names)}, {"type": "null"}]},
            "confidence": {"type": "number"},
        },
        "required": ["skill", "confidence"],
        "additionalProperties": False,
    }


def cheapest_model(provider: LLMProviderName) -> str | None:
    """The provider family's cheapest model in the price table (input plus output price per token)."""
    family = [name for name in PRICES if model_family(name) is provider]
    if not family:
        return None
    return min(family, key=lambda name: (PRICES[name].input + PRICES[name].output, name))


def classifier_model(provider: LLMProvider, settings: Settings) -> str:
    if provider.name is LLMProviderName.LOCAL:
        return provider.default_model
    if provider.name is LLMProviderName.OPENAI and settings.openai_base_url:
        # Ollama, vLLM, a llama.cpp server…: only the configured model is known to exist there.
        return provider.default_model
    return cheapest_model(provider.name) or provider.default_model


def offered_skills(
    provider: LLMProviderName, skills: Sequence[SkillProfile], candidates: Sequence[SkillCandidate]
) -> list[SkillProfile]:
    """The skills the model may choose from: all of them, or for the offline model the first keyword
    candidates (none when the keywords found nothing: that model would only guess)."""
    if provider is not LLMProviderName.LOCAL:
        return list(skills)
    by_name = {skill.name: skill for skill in skills}
    return [by_name[c.skill] for c in candidates[:OFFLINE_SHORTLIST] if c.skill in by_name]


def _prompt(skills: Sequence[SkillProfile]) -> str:
    lines = [
        "You route a marketer's request to the one skill that should handle it.",
        "Answer with JSON only: the skill's exact name, or null when no skill fits, and your confidence from 0 to 1.",
        "",
        "Skills:",
    ]
    for skill in skills:
        lines.append(f"- {skill.name}: {_first_sentence(skill.description)}")
    return "\n".join(lines)


def _first_sentence(text: str) -> str:
    sentence = " ".join(text.split()).split(". ")[0]
    return sentence if len(sentence) <= _DESCRIPTION_CHARS else sentence[: _DESCRIPTION_CHARS - 1] + "…"


def parse_answer(text: str, names: Sequence[str], model: str) -> ModelChoice | None:
    """The model's JSON answer checked against the names; None when it is not a usable answer."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    skill = data.get("skill")
    confidence = data.get("confidence")
    if skill is not None and skill not in names:
        return None
    if isinstance(confidence, bool) or not isinstance(confidence, int | float):
        return None
    return ModelChoice(skill, min(max(float(confidence), 0.0), 1.0), model)


class LLMSkillClassifier:
    """The model step over an :class:`LLMProvider`, made on first use (so a process that never needs the
    model never loads or configures one)."""

    def __init__(self, provider_factory: Callable[[], LLMProvider], model_of: Callable[[LLMProvider], str]) -> None:
        self._factory = provider_factory
        self._model_of = model_of
        self._provider: LLMProvider | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMSkillClassifier:
        return cls(lambda: make_provider(settings), lambda provider: classifier_model(provider, settings))

    async def classify(
        self, text: str, skills: Sequence[SkillProfile], candidates: Sequence[SkillCandidate]
    ) -> ModelChoice | None:
        try:
            if self._provider is None:
                self._provider = self._factory()
            skills = offered_skills(self._provider.name, skills, candidates)
            names = [skill.name for skill in skills]
            if not names:
                return None
            model = self._model_of(self._provider)
            response = await self._provider.complete(
                LLMRequest(
                    system=(SystemPart(_prompt(skills), cacheable=True),),
                    messages=(Message("user", text[:MAX_REQUEST_CHARS]),),
                    model=model,
                    max_tokens=MAX_ANSWER_TOKENS,
                    temperature=0.0,
                    json_schema=answer_schema(names),
                )
            )
        except LLMError as exc:
            # Detection still answers (with the keyword candidates); the request is not lost.
            logger.warning("skill classifier unavailable: %s: %s", exc.code, exc.message)
            return None
        choice = parse_answer(response.text, names, response.model)
        if choice is None:
            logger.warning("skill classifier answer unusable", extra={"model": response.model})
        return choice

    async def aclose(self) -> None:
        if self._provider is not None:
            await self._provider.aclose()
            self._provider = None
