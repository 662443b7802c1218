"""schema-markup answers with JSON-LD in fenced blocks: the cleaner keeps them intact and the format check
accepts the output, however the model fences it."""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from marketing_agent.agent.cleaning import check_format, clean_output, headings
from marketing_agent.agent.skills import load_skill_catalog

SKILL = asyncio.run(load_skill_catalog()).require("schema-markup")

ORGANIZATION = {
    "@context": "https://schema.org",
    "@type": "Organization",
    "@id": "https://acme.example/#organization",
    "name": "Acme Invoicing",
    "url": "https://acme.example/",
    "logo": "https://acme.example/logo.png",
    "sameAs": ["https://www.linkedin.com/company/acme-invoicing"],
}
BREADCRUMBS = {
    "@context": "https://schema.org",
    "@type": "BreadcrumbList",
    "itemListElement": [
        {"@type": "ListItem", "position": 1, "name": "Home", "item": "https://acme.example/"},
        {"@type": "ListItem", "position": 2, "name": "Pricing"},
    ],
}


def _answer() -> str:
    org = json.dumps(ORGANIZATION, indent=2)
    crumbs = json.dumps(BREADCRUMBS, indent=2)
    return (
        "# Schema markup: acme.example\n\n"
        "## Summary\n\nOrganization on the home page, breadcrumbs on pricing.\n\n"
        "## Recommended types\n\n| Page or template | Type(s) | Why | Rich result eligibility |\n"
        "|---|---|---|---|\n| Home | Organization | names the company | Limited |\n\n"
        "## JSON-LD\n\n### Home: Organization\n\n```json\n"
        f"{org}\n```\n\nIn the home page template's head.\n\n"
        "### Pricing: BreadcrumbList\n\n```json\n"
        f"{crumbs}\n```\n\nIn the pricing template.\n\n"
        "## Validation\n\n1. Parse each block, then run the rich results test.\n\n"
        "## Notes and assumptions\n\n- The logo URL is a placeholder to confirm.\n"
    )


def _json_blocks(text: str) -> list[object]:
    return [json.loads(block) for block in re.findall(r"^```json\n(.*?)\n```$", text, re.DOTALL | re.MULTILINE)]


def _check(text: str) -> list[str]:
    meta = SKILL.metadata
    return check_format(text, required_sections=meta.required_sections, output_format=meta.output_format)


def test_the_skill_asks_for_json_ld_in_fenced_blocks_of_a_markdown_answer() -> None:
    assert SKILL.metadata.output_format == "markdown"
    fmt = SKILL.instructions.split("## Output format", 1)[1]
    assert "```json" in fmt
    assert "## JSON-LD" in SKILL.metadata.required_sections


@pytest.mark.parametrize(
    "wrap",
    [
        pytest.param(lambda t: t, id="bare"),
        pytest.param(lambda t: f"Here is the markup you asked for:\n\n{t}\nLet me know if you need more.", id="chatty"),
        pytest.param(lambda t: f"```markdown\n{t}```", id="three-backtick-wrapper"),
        # The skill's own template is fenced with four backticks (it holds ```json); a model may copy that.
        pytest.param(lambda t: f"````markdown\n{t}````", id="four-backtick-wrapper"),
        pytest.param(lambda t: f"~~~\n{t}~~~", id="tilde-wrapper"),
    ],
)
def test_a_json_ld_answer_passes_the_format_check_with_its_blocks_intact(wrap: object) -> None:
    assert callable(wrap)
    cleaned = clean_output(wrap(_answer()))
    assert _check(cleaned) == []
    assert _json_blocks(cleaned) == [ORGANIZATION, BREADCRUMBS]
    assert headings(cleaned)[0] == "Schema markup: acme.example"


def test_a_hash_line_inside_a_json_block_is_not_a_heading() -> None:
    text = "# T\n\n## JSON-LD\n\n```json\n{\n## Validation\n}\n```\n"
    assert "missing required section: ## Validation" in _check(text)


def test_a_longer_fence_is_not_closed_by_a_shorter_one_inside_it() -> None:
    text = "````\n```json\n{}\n```\n## Summary\n````\n## Validation\n"
    assert headings(text) == ["Validation"]
    assert clean_output(f"# T\n\n{text}").count("````") == 2
