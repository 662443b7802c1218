"""Every built-in skill loads and is complete enough for the executor to use and check."""

from __future__ import annotations

import asyncio
import re

import pytest

from marketing_agent.agent.skill import Skill, SkillSource
from marketing_agent.agent.skills import (
    SkillCatalog,
    builtin_skills_dir,
    load_skill_catalog,
    load_skill_folder,
)

REQUIRED = {
    "ab-test-setup",
    "analytics-tracking",
    "form-cro",
    "onboarding-cro",
    "paywall-upgrade-cro",
    "popup-cro",
    "signup-flow-cro",
    "pricing-strategy",
    "paid-ads",
    "free-tool-strategy",
    "referral-program",
    "copywriting",
    "copy-editing",
    "email-sequence",
    "social-content",
    "seo-audit",
    "competitor-research",
    "competitor-alternatives",
    "launch-strategy",
    "page-cro",
    "content-calendar",
    "positioning",
    "press-release",
}


def _catalog() -> SkillCatalog:
    return asyncio.run(load_skill_catalog())


CATALOG = _catalog()
BUILTINS = CATALOG.all()


def test_the_builtins_load_without_errors_and_include_the_required_ones() -> None:
    assert CATALOG.errors == []
    assert set(CATALOG.names()) >= REQUIRED
    folders = {p.name for p in builtin_skills_dir().iterdir() if p.is_dir() and not p.name.startswith("_")}
    assert folders == set(CATALOG.names())


@pytest.mark.parametrize("skill", BUILTINS, ids=lambda s: s.name)
def test_a_builtin_skill_is_complete(skill: Skill) -> None:
    assert skill.source is SkillSource.BUILTIN
    assert load_skill_folder(builtin_skills_dir() / skill.name, SkillSource.BUILTIN).name == skill.name
    meta = skill.metadata
    assert "Use " in skill.description  # says when to use it
    assert meta.type != "general"
    assert meta.category is not None  # every built-in is browsable by category
    assert meta.output_format == "markdown"
    assert meta.max_tokens is not None
    assert 1000 <= meta.max_tokens <= 8000
    assert meta.temperature is not None
    assert len(meta.trigger_keywords) >= 5
    # A small model writes the output one section at a time: a handful of short, self-explaining headings.
    assert 4 <= len(meta.required_sections) <= 8
    for section in meta.required_sections:
        assert re.fullmatch(r"## \S.*", section), section
        assert len(section) <= 32, section
    # Substantial instructions with the sections every built-in is written to.
    assert 70 <= len(skill.instructions.splitlines()) <= 260
    for heading in (
        "## When to use",
        "## Context to gather",
        "## Principles",
        "## Common mistakes",
        "## Output format",
    ):
        assert heading in skill.instructions, heading


@pytest.mark.parametrize("skill", BUILTINS, ids=lambda s: s.name)
def test_the_output_format_names_every_required_section_in_order(skill: Skill) -> None:
    fmt = skill.instructions.split("## Output format", 1)[1]
    positions = [fmt.find(f"\n{section}\n") for section in skill.metadata.required_sections]
    assert all(p >= 0 for p in positions), dict(zip(skill.metadata.required_sections, positions, strict=True))
    assert positions == sorted(positions)


@pytest.mark.parametrize("skill", BUILTINS, ids=lambda s: s.name)
def test_related_skills_are_other_builtins(skill: Skill) -> None:
    assert skill.metadata.related_skills
    for related in skill.metadata.related_skills:
        assert related != skill.name
        assert related in CATALOG, related


def test_rules_and_references_are_present_where_they_matter() -> None:
    with_rules = [s.name for s in BUILTINS if s.rules]
    with_references = [s.name for s in BUILTINS if s.references]
    assert len(with_rules) * 2 >= len(BUILTINS)
    assert len(with_references) >= 3
    for skill in BUILTINS:
        for path, text in skill.references:
            assert path.startswith("references/")
            assert text.startswith("# ")


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Write the homepage headline and hero copy", "copywriting"),
        ("Tighten this draft and fix the grammar", "copy-editing"),
        ("Plan a 6-email onboarding sequence for new trial users", "email-sequence"),
        ("LinkedIn posts for next week", "social-content"),
        ("Why is our organic traffic dropping? Do an SEO audit", "seo-audit"),
        ("Research our competitors' pricing and messaging", "competitor-research"),
        ("A comparison page: us vs Acme alternative", "competitor-alternatives"),
        ("We launch the new product in May, plan the launch", "launch-strategy"),
        ("Our landing page conversion rate is low", "page-cro"),
        ("An editorial calendar for Q3 blog content", "content-calendar"),
        ("Help us find our positioning and differentiation", "positioning"),
        ("Draft a press release announcing our funding", "press-release"),
        ("Google Ads headlines for our PPC campaign", "ad-copy"),
        ("Turn these interview notes into a customer story", "case-study"),
        ("Define our tone of voice so the copy sounds like us", "brand-voice"),
        ("Synthesise this customer feedback from our survey", "customer-research"),
        ("How many visitors do we need for a split test of the new checkout button?", "ab-test-setup"),
        ("Write a tracking plan for GA4 and our product events", "analytics-tracking"),
        ("Our demo request form has nine fields, which should we cut?", "form-cro"),
        ("Users sign up but never activate, fix our onboarding", "onboarding-cro"),
        ("Design the paywall screen for when free users hit the usage limit", "paywall-upgrade-cro"),
        ("An exit intent popup to capture emails on the blog", "popup-cro"),
        ("Half the people who click Start trial never finish the signup flow", "signup-flow-cro"),
        ("How much should we charge, and what tiers should we offer?", "pricing-strategy"),
        ("How should we split a $20k monthly ad budget across channels?", "paid-ads"),
        ("Build a free calculator tool that brings us leads", "free-tool-strategy"),
        ("Design a referral program where customers invite friends", "referral-program"),
    ],
)
def test_suggest_finds_the_right_builtin_first(message: str, expected: str) -> None:
    suggestions = CATALOG.suggest(message)
    assert suggestions, message
    assert suggestions[0].name == expected, [s.name for s in suggestions]
