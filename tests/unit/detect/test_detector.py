"""The detector's order (explicit → keywords → model → none), client matching and the kind of output."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

from marketing_agent.agent.detect import (
    CONFIDENT,
    ClientName,
    DetectionMethod,
    KeywordIndex,
    LLMSkillClassifier,
    OutputType,
    SkillDetector,
    SkillProfile,
    explicit_skill,
    match_client,
    output_type,
)
from marketing_agent.agent.llm import LLMProvider, LLMRequest, LLMResponse
from marketing_agent.errors import LLMNotConfigured, LLMOverloaded
from marketing_agent.settings import LLMProviderName

SKILLS = [
    SkillProfile(
        "email-sequence",
        "Plans and writes an automated email sequence. Use for drip campaigns and onboarding emails.",
        ("email sequence", "drip campaign", "onboarding emails", "emails"),
    ),
    SkillProfile(
        "seo-audit",
        "Audits a website for search performance and says what to fix first.",
        ("seo", "seo audit", "organic traffic", "rankings"),
    ),
    SkillProfile(
        "copywriting",
        "Writes conversion-focused copy for a page: homepage, landing page, headlines.",
        ("copy", "homepage", "landing page", "headline"),
    ),
    SkillProfile(
        "social-content",
        "Writes social media posts native to each platform.",
        ("social media", "linkedin", "tweet", "posts"),
    ),
]
ACME = ClientName(uuid.uuid4(), "Acme Corp", "acme")
NORTHWIND = ClientName(uuid.uuid4(), "Northwind Traders", "northwind")


class ScriptedProvider:
    """An in-memory provider answering each call with the next scripted text (or raising it)."""

    def __init__(self, *answers: str | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[LLMRequest] = []

    @property
    def name(self) -> LLMProviderName:
        return LLMProviderName.ANTHROPIC

    @property
    def default_model(self) -> str:
        return "claude-sonnet-5-5"

    async def complete(self, request: LLMRequest) -> LLMResponse:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return LLMResponse(answer, request.model, self.name, input_tokens=10, output_tokens=5)

    async def aclose(self) -> None:
        pass


def detector_with(provider: LLMProvider) -> SkillDetector:
    return SkillDetector(LLMSkillClassifier(lambda: provider, lambda p: "claude-haiku-5-5"))


async def test_an_explicit_prefix_wins_and_is_taken_off_the_request() -> None:
    provider = ScriptedProvider()
    for text in (
        "/seo-audit the homepage copy",
        "seo-audit: the homepage copy",
        "/SEO-Audit@marketing_bot the homepage copy",
    ):
        detection = await detector_with(provider).detect(text, SKILLS)
        assert detection.skill == "seo-audit"
        assert detection.method is DetectionMethod.EXPLICIT
        assert detection.confidence == 1.0
        assert detection.request == "the homepage copy"
    assert provider.requests == []  # no model call


def test_a_prefix_naming_no_skill_is_not_explicit() -> None:
    names = [s.name for s in SKILLS]
    assert explicit_skill("Note: our homepage needs copy", names) is None
    assert explicit_skill("/start", names) is None
    assert explicit_skill("copywriting", names) is None  # a bare word is a request, not a prefix
    only_prefix = explicit_skill("/copywriting", names)
    assert only_prefix is not None
    assert only_prefix.request == "/copywriting"  # nothing after it: the run still gets a message


async def test_clear_keywords_decide_without_the_model() -> None:
    provider = ScriptedProvider()
    detection = await detector_with(provider).detect("Plan a drip campaign of onboarding emails", SKILLS)
    assert detection.skill == "email-sequence"
    assert detection.method is DetectionMethod.KEYWORDS
    assert detection.confidence >= CONFIDENT
    assert detection.candidates[0].skill == "email-sequence"
    assert [c.score for c in detection.candidates] == sorted((c.score for c in detection.candidates), reverse=True)
    assert provider.requests == []


async def test_below_the_threshold_the_model_decides_within_the_skill_names() -> None:
    provider = ScriptedProvider(json.dumps({"skill": "social-content", "confidence": 0.8}))
    detection = await detector_with(provider).detect("something to share about our launch", SKILLS)
    assert detection.skill == "social-content"
    assert detection.method is DetectionMethod.MODEL
    assert detection.confidence == 0.8
    assert detection.candidates[0].skill == "social-content"
    (request,) = provider.requests
    assert request.model == "claude-haiku-5-5"
    assert request.json_schema is not None
    skill_schema = request.json_schema["properties"]["skill"]["anyOf"]
    assert skill_schema == [{"type": "string", "enum": [s.name for s in SKILLS]}, {"type": "null"}]
    assert "social-content: Writes social media posts" in request.system_text


async def test_an_unsure_model_or_no_skill_leaves_the_choice_to_the_user() -> None:
    unsure = ScriptedProvider(json.dumps({"skill": "copywriting", "confidence": 0.2}))
    detection = await detector_with(unsure).detect("some words for the site", SKILLS)
    assert detection.skill is None
    assert detection.method is DetectionMethod.NONE
    assert detection.candidates[0].skill == "copywriting"

    nothing = ScriptedProvider(json.dumps({"skill": None, "confidence": 0.9}))
    detection = await detector_with(nothing).detect("what's the weather tomorrow", SKILLS)
    assert (detection.skill, detection.method, detection.candidates) == (None, DetectionMethod.NONE, ())


async def test_an_unusable_or_failing_model_falls_back_to_the_keyword_candidates() -> None:
    text = "a few posts about the homepage"
    keywords = KeywordIndex(SKILLS).score(text)
    assert keywords.confidence < CONFIDENT
    for answer in (
        "not json",
        json.dumps({"skill": "made-up-skill", "confidence": 0.9}),
        json.dumps({"skill": "copywriting", "confidence": "high"}),
        json.dumps(["copywriting"]),
        LLMOverloaded("busy"),
        LLMNotConfigured("no provider"),
    ):
        detection = await detector_with(ScriptedProvider(answer)).detect(text, SKILLS)
        assert detection.skill is None
        assert detection.method is DetectionMethod.NONE
        assert detection.candidates == keywords.candidates[: len(detection.candidates)]
        assert detection.candidates


async def test_without_a_classifier_detection_is_keywords_only() -> None:
    detection = await SkillDetector().detect("some words for the site", SKILLS)
    assert detection.method is DetectionMethod.NONE
    assert detection.skill is None


async def test_no_skills_at_all() -> None:
    provider = ScriptedProvider()
    detection = await detector_with(provider).detect("Plan a drip campaign", [])
    assert (detection.skill, detection.candidates) == (None, ())
    assert provider.requests == []


def test_the_client_is_matched_by_name_or_slug_as_whole_words() -> None:
    clients = [ACME, NORTHWIND]
    assert match_client("Homepage copy for Acme Corp please", clients) == ACME.id
    assert match_client("homepage copy for acme", clients) == ACME.id
    assert match_client("an email for NORTHWIND's trial users", clients) == NORTHWIND.id
    assert match_client("homepage copy for acmeville", clients) is None
    assert match_client("homepage copy", clients) is None
    # The longer mention wins: "Acme Labs" over "Acme".
    labs = ClientName(uuid.uuid4(), "Acme Labs", "acme-labs")
    assert match_client("landing page for Acme Labs", [ACME, labs]) == labs.id


async def test_the_detection_carries_the_client_and_the_output_type() -> None:
    detection = await SkillDetector().detect(
        "Plan a drip campaign of onboarding emails for Northwind", SKILLS, [ACME, NORTHWIND]
    )
    assert detection.client_id == NORTHWIND.id
    assert detection.output_type is OutputType.EMAIL_SEQUENCE
    explicit = await SkillDetector().detect("/copywriting landing page for acme", SKILLS, [ACME])
    assert (explicit.client_id, explicit.output_type) == (ACME.id, OutputType.LANDING_PAGE)


def test_output_types() -> None:
    cases: Sequence[tuple[str, OutputType | None]] = [
        ("Write a blog post about pricing", OutputType.BLOG_POST),
        ("5 LinkedIn posts about our report", OutputType.SOCIAL_POST),
        ("an email to churned users", OutputType.EMAIL),
        ("a 6 email sequence for trials", OutputType.EMAIL_SEQUENCE),
        ("90-second explainer video script", OutputType.VIDEO_SCRIPT),
        ("Google Ads for the spring sale", OutputType.AD),
        ("a press release for the Series A", OutputType.PRESS_RELEASE),
        ("Do an SEO audit", OutputType.REPORT),
        ("help", None),
    ]
    for text, expected in cases:
        assert output_type(text) is expected, text
