"""Free-text requests, in the words a marketer would use, find the growth, sales, programmatic-SEO,
schema, video and outreach skills first — without taking their neighbours' requests."""

from __future__ import annotations

import asyncio

import pytest

from marketing_agent.agent.skills import load_skill_catalog

CATALOG = asyncio.run(load_skill_catalog())


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("What should we blog about? We need a blog strategy that brings signups", "blog-strategy"),
        ("Plan topic clusters and pillar pages for our company blog", "blog-strategy"),
        ("Spec out this idea: a pricing calculator on our website", "idea-to-spec"),
        ("Turn this idea into a one-page spec with requirements", "idea-to-spec"),
        ("Give me marketing ideas to get our first 100 customers", "marketing-ideas"),
        ("Brainstorm growth tactics for a slow quarter", "marketing-ideas"),
        ("Which cognitive biases can we use ethically on our pricing table?", "marketing-psychology"),
        ("Use loss aversion and anchoring in the upgrade prompt", "marketing-psychology"),
        ("Create location pages at scale for every city we serve", "programmatic-seo"),
        ("We want thousands of template pages for long tail keywords", "programmatic-seo"),
        ("How do we reduce churn?", "retention-strategy"),
        ("Design a cancel flow with a save offer", "retention-strategy"),
        ("Sales collateral for the sales team: talk track and objection handling", "sales-enablement"),
        ("Outline a sales deck for enterprise buyers", "sales-enablement"),
        ("Write JSON-LD structured data for the homepage", "schema-markup"),
        ("Why don't we get rich snippets? Fix our schema markup", "schema-markup"),
        ("Write a 90 second explainer video script", "video-script"),
        ("Script for a YouTube video about our product", "video-script"),
        ("Find co-marketing partners for a joint webinar", "partnership-marketing"),
        ("Build a partner program for agencies and resellers", "partnership-marketing"),
        ("Write a cold email sequence to CFOs", "cold-email"),
        ("Outbound prospecting emails to book meetings", "cold-email"),
    ],
)
def test_suggest_finds_the_new_skill_first(message: str, expected: str) -> None:
    suggestions = CATALOG.suggest(message)
    assert suggestions, message
    assert suggestions[0].name == expected, [s.name for s in suggestions]


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        # The neighbours keep their requests: follow-ups to signups are lifecycle email, not cold outreach;
        # a dated editorial plan is a calendar; a partnership announcement is a press release.
        ("Plan a 6-email onboarding sequence for new trial users", "email-sequence"),
        ("An editorial calendar for Q3 blog content", "content-calendar"),
        ("Draft a press release announcing our partnership with Acme", "press-release"),
        ("Why is our organic traffic dropping? Do an SEO audit", "seo-audit"),
    ],
)
def test_neighbouring_skills_keep_their_requests(message: str, expected: str) -> None:
    assert CATALOG.suggest(message)[0].name == expected, [s.name for s in CATALOG.suggest(message)]
