"""Small-model mode: the plan, each section's prompt, the tidying of what the model wrote, the joined
result — with an in-memory provider."""

from __future__ import annotations

import pytest

from marketing_agent.agent.cleaning import check_format, headings
from marketing_agent.agent.execute import SkillOptions
from marketing_agent.agent.llm import LOCAL_MODEL_NAME
from marketing_agent.agent.sectioned import (
    SECTION_MAX_TOKENS,
    SECTION_MIN_TOKENS,
    SECTION_REPETITION_PENALTY,
    SECTION_TEMPERATURE,
    SectionPlan,
    WrittenSection,
    build_section_request,
    clean_section_body,
    join_sections,
    plan_sections,
    section_format,
    write_section,
)
from marketing_agent.agent.skill import Skill, SkillMetadata, SkillSource
from marketing_agent.agent.skills import load_skill_catalog
from marketing_agent.errors import ClientContextMissing
from marketing_agent.storage import MemoryObjectStore
from support.memory_llm import ScriptedProvider

INSTRUCTIONS = """# Launch note

Write a short launch note.

## Output format

```
# Launch: <product>

## Summary
- **What:** <one line>
- **Who:** <the reader>

## Details
(two short paragraphs)

## Next steps
- <action, owner>
```
"""
SKILL = Skill(
    name="launch-note",
    description="Writes a launch note for a product release. Use when a product ships.",
    instructions=INSTRUCTIONS,
    source=SkillSource.BUILTIN,
    metadata=SkillMetadata(
        model="claude-opus-5",
        temperature=0.9,
        required_sections=("## Summary", "## Details", "Next steps"),
    ),
)
BRIEF = "Announce the spring espresso blend\nKeep it short."


def plan(**options: object) -> SectionPlan:
    result = plan_sections(SKILL, BRIEF, SkillOptions.model_validate(options))
    assert result is not None
    return result


def section(heading: str, body: str = "Text.", **fields: object) -> WrittenSection:
    values: dict[str, object] = {
        "model": LOCAL_MODEL_NAME,
        "provider": "local",
        "tokens_input": 100,
        "tokens_output": 20,
        "cost_usd": 0.0,
    }
    values.update(fields)
    return WrittenSection(heading=heading, body=body, **values)  # type: ignore[arg-type]


# --- the plan ----------------------------------------------------------------------------------------
def test_the_plan_is_the_required_sections_as_heading_lines_titled_by_the_brief() -> None:
    result = plan()
    assert result.headings == ("## Summary", "## Details", "## Next steps")
    assert result.title == "Announce the spring espresso blend"
    assert result.max_tokens == SECTION_MAX_TOKENS
    assert SectionPlan.from_dict(result.to_dict()) == result


@pytest.mark.parametrize(
    ("max_tokens", "per_section"),
    [(3000, SECTION_MAX_TOKENS), (240, 80), (30, SECTION_MIN_TOKENS)],
)
def test_a_runs_max_tokens_is_split_over_the_sections_within_bounds(max_tokens: int, per_section: int) -> None:
    assert plan(maxTokens=max_tokens).max_tokens == per_section


def test_skills_without_sections_or_with_json_output_are_not_planned() -> None:
    bare = Skill(name="x", description="d", instructions="i", source=SkillSource.BUILTIN)
    assert plan_sections(bare, BRIEF, SkillOptions()) is None
    as_json = Skill(
        name="y",
        description="d",
        instructions="i",
        source=SkillSource.BUILTIN,
        metadata=SkillMetadata(output_format="json", required_sections=("## A",)),
    )
    assert plan_sections(as_json, BRIEF, SkillOptions()) is None


def test_a_long_or_empty_brief_gives_a_short_title_or_the_skill_name() -> None:
    assert len(plan_sections(SKILL, "word " * 100, SkillOptions()).title) <= 80  # type: ignore[union-attr]
    assert plan_sections(SKILL, "  \n ", SkillOptions()).title == "launch-note"  # type: ignore[union-attr]


# --- each section's prompt --------------------------------------------------------------------------
def test_the_format_of_a_section_comes_from_the_skills_output_template() -> None:
    assert section_format(SKILL, "## Summary") == "- **What:** <one line>\n- **Who:** <the reader>"
    assert section_format(SKILL, "## Next steps") == "- <action, owner>"
    assert section_format(SKILL, "## Pricing") == ""


async def test_the_format_hint_of_a_built_in_skill_stops_at_its_next_section() -> None:
    copywriting = (await load_skill_catalog()).require("copywriting")
    hint = section_format(copywriting, "## Brief")
    assert "**Reader:**" in hint
    assert "Headline" not in hint


def test_a_section_request_holds_brief_client_earlier_names_format_and_forces_the_heading() -> None:
    provider = ScriptedProvider()
    earlier = [section("## Summary", "A VERY DISTINCT SUMMARY SENTENCE.")]
    request = build_section_request(
        SKILL,
        plan(extraInstructions="Mention Lisbon."),
        1,
        BRIEF,
        "Acme Coffee roasts beans in Lisbon.",
        earlier,
        SkillOptions(extra_instructions="Mention Lisbon."),
        provider,
    )
    system = request.system_text
    assert "Writes a launch note for a product release." in system
    assert "Use when" not in system  # only the skill's first sentence: the prompt stays short
    assert "Acme Coffee roasts beans in Lisbon." in system
    assert "Announce the spring espresso blend" in system
    assert "Mention Lisbon." in system
    assert "Sections already written: Summary." in system
    # The earlier text itself is left out: a small model copies it into every later section.
    assert "A VERY DISTINCT SUMMARY SENTENCE" not in system
    [message] = request.messages
    assert message.role == "user"
    assert '"Details"' in message.content
    assert "(two short paragraphs)" in message.content
    assert request.prefill == "## Details\n\n"
    assert request.stop == ("\n## Summary", "\n## Next steps")
    assert request.repetition_penalty == SECTION_REPETITION_PENALTY
    assert request.max_tokens == SECTION_MAX_TOKENS
    assert request.temperature == SECTION_TEMPERATURE  # not the skill's 0.9, set for large models
    assert request.model == LOCAL_MODEL_NAME  # the skill's Claude model means nothing to the local one


def test_the_runs_own_temperature_and_model_win() -> None:
    options = SkillOptions(temperature=0.1, model="other")
    request = build_section_request(SKILL, plan(), 0, BRIEF, None, [], options, ScriptedProvider())
    assert request.temperature == 0.1
    assert request.model == "other"
    assert "client" not in request.system_text.lower().split("the request")[0].split("job:")[0]
    assert "already written" not in request.system_text


# --- tidying what the model wrote ---------------------------------------------------------------------
HEADINGS = ("## Summary", "## Details", "## Next steps")


def test_the_body_ends_where_the_model_runs_into_another_required_section() -> None:
    text = "First point.\n\n## Next Steps\n\n- something for later"
    assert clean_section_body(text, "## Details", HEADINGS, cut_at_limit=False) == "First point."


def test_a_repeated_own_heading_is_dropped_and_other_headings_are_demoted() -> None:
    text = "## Details\n\n## Hero\n\nCopy.\n\n### Kept level\n\n# Top\n\nMore."
    body = clean_section_body(text, "## Details", HEADINGS, cut_at_limit=False)
    assert headings(body) == ["Hero", "Kept level", "Top"]
    assert "### Hero" in body
    assert "### Top" in body
    assert "## Details" not in body


def test_an_unfinished_last_line_is_dropped_only_when_the_limit_cut_it() -> None:
    text = "A full sentence.\nAnd then the model was cut off in the mid"
    assert clean_section_body(text, "## Details", HEADINGS, cut_at_limit=True) == "A full sentence."
    assert clean_section_body(text, "## Details", HEADINGS, cut_at_limit=False).endswith("in the mid")
    # A single unfinished line is all the model wrote: kept rather than emptied.
    assert clean_section_body("only a fragment of", "## Details", HEADINGS, cut_at_limit=True) == "only a fragment of"


def test_headings_inside_code_fences_are_left_alone() -> None:
    text = "```\n## Summary\n```\nAfter."
    assert clean_section_body(text, "## Details", HEADINGS, cut_at_limit=False) == text


# --- writing and joining ---------------------------------------------------------------------------------
async def test_write_section_reads_the_clients_files_without_their_tags() -> None:
    store = MemoryObjectStore()
    await store.put("clients/acme/profile.md", b"# Acme Coffee\n\nRoasts beans in Lisbon.")
    provider = ScriptedProvider(["- **What:** a new blend\n- **Who:** home baristas"])
    written = await write_section(SKILL, plan(), 0, BRIEF, "acme", [], SkillOptions(), provider=provider, store=store)
    [request] = provider.requests
    assert "Roasts beans in Lisbon." in request.system_text
    assert "Acme Coffee" in request.system_text
    assert "<client_file" not in request.system_text
    assert "# Acme" not in request.system_text  # the file's heading is a plain line for the model
    assert written.heading == "## Summary"
    assert written.body == "- **What:** a new blend\n- **Who:** home baristas"
    assert written.provider == "local"
    assert written.cost_usd == 0.0
    assert written.warnings == ()
    assert WrittenSection.from_dict(written.to_dict()) == written


async def test_a_client_without_profile_fails_like_a_whole_run() -> None:
    with pytest.raises(ClientContextMissing):
        await write_section(
            SKILL, plan(), 0, BRIEF, "ghost", [], SkillOptions(), provider=ScriptedProvider(), store=MemoryObjectStore()
        )


async def test_an_empty_section_stays_empty_and_says_so() -> None:
    provider = ScriptedProvider(["## Details\n\n"])
    written = await write_section(SKILL, plan(), 1, BRIEF, None, [], SkillOptions(), provider=provider, store=None)
    assert written.body == ""
    assert written.warnings == ("Details: the model wrote nothing for this section",)


def test_joined_sections_carry_every_heading_and_summed_usage() -> None:
    parts = [
        section("## Summary", "One.", tokens_input=10, tokens_output=3, latency_seconds=1.5),
        section("## Details", "Two.", tokens_input=20, tokens_output=4, latency_seconds=2.0, warnings=("w",)),
        section("## Next steps", "- Three.", tokens_input=30, tokens_output=5, latency_seconds=0.5),
    ]
    result = join_sections(SKILL.name, plan(), parts, "acme")
    assert result.output == (
        "# Announce the spring espresso blend\n\n## Summary\n\nOne.\n\n## Details\n\nTwo.\n\n"
        "## Next steps\n\n- Three.\n"
    )
    assert result.title == "Announce the spring espresso blend"
    assert (result.tokens_input, result.tokens_output) == (60, 12)
    assert result.cost_usd == 0.0
    assert result.latency_seconds == 4.0
    assert result.model == LOCAL_MODEL_NAME
    assert result.warnings == ("w",)
    assert check_format(result.output, required_sections=SKILL.metadata.required_sections) == []


def test_an_unpriced_section_leaves_the_runs_cost_unknown() -> None:
    parts = [section(h, cost_usd=None if h == "## Details" else 0.5) for h in HEADINGS]
    assert join_sections(SKILL.name, plan(), parts).cost_usd is None


async def test_every_built_in_skill_with_sections_comes_out_with_all_of_them() -> None:
    """Whatever the model writes — here prose that even starts other headings — every section is there."""
    catalog = await load_skill_catalog()
    provider = ScriptedProvider([lambda r: "Plain words.\n\n## Summary\n\n# Notes\n\nMore words."])
    checked = 0
    for skill in catalog.skills.values():
        skill_plan = plan_sections(skill, BRIEF, SkillOptions())
        if skill_plan is None:
            continue
        written: list[WrittenSection] = []
        for index in range(len(skill_plan.headings)):
            written.append(
                await write_section(skill, skill_plan, index, BRIEF, None, written, SkillOptions(), provider=provider)
            )
        result = join_sections(skill.name, skill_plan, written)
        assert check_format(result.output, required_sections=skill.metadata.required_sections) == [], skill.name
        assert result.warnings == (), skill.name
        checked += 1
    assert checked >= 16
