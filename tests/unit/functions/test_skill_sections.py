"""skill-execute in small-model mode: one step per required section, through ``inngest.experimental.mocked``."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from inngest.experimental import mocked

from marketing_agent.agent.cleaning import check_format
from marketing_agent.agent.llm import LLMRequest
from marketing_agent.agent.skill import Skill, SkillMetadata, SkillSource
from marketing_agent.agent.skills import SkillCatalog
from marketing_agent.errors import LLMFatalError, LLMRateLimited
from marketing_agent.functions import FunctionDeps, build_functions
from marketing_agent.functions.wiring import CatalogSectionWriter, CatalogSkillExecutor, small_model_mode
from marketing_agent.settings import LLMProviderName, Settings
from marketing_agent.storage import MemoryObjectStore
from support.function_fakes import FakeNotifications, FakeRun, FakeServices, Harness, RecordingClient, ScriptedExecutor
from support.memory_llm import ScriptedProvider

SECTIONS = ("## Summary", "## Details", "## Next steps")
SKILL = Skill(
    name="launch-note",
    description="Writes a launch note.",
    instructions="Write a launch note.",
    source=SkillSource.BUILTIN,
    metadata=SkillMetadata(required_sections=SECTIONS),
)
PLAIN = Skill(name="tagline", description="Writes a tagline.", instructions="One line.", source=SkillSource.BUILTIN)


def answer_by_section(request: LLMRequest) -> str:
    name = request.prefill.strip("# \n")
    return f"What the model wrote for {name}."


@pytest.fixture
def provider() -> ScriptedProvider:
    return ScriptedProvider([answer_by_section])


@pytest.fixture
def sectioned(event_loop_for_mocked: asyncio.AbstractEventLoop, provider: ScriptedProvider) -> Harness:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    store = MemoryObjectStore()
    catalog = SkillCatalog(skills={SKILL.name: SKILL, PLAIN.name: PLAIN})
    executor = CatalogSkillExecutor(settings, store, provider=provider, catalog=catalog)
    client = RecordingClient()
    services = FakeServices()
    deps = FunctionDeps(
        settings=settings,
        services=services,
        store=store,
        execute=executor,
        notifications=FakeNotifications(),
        sections=CatalogSectionWriter(executor, settings, store),
    )
    functions = {fn.local_id: fn for fn in build_functions(client, deps)}
    return Harness(
        client, services, ScriptedExecutor(), FakeNotifications(), store, functions, deps, event_loop_for_mocked
    )


def start(h: Harness, skill: str = SKILL.name, **data: Any) -> Any:
    h.services.runs.setdefault("r1", FakeRun(user_id="u1", skill_name=skill))
    payload = {"runId": "r1", "skillName": skill, "userMessage": "Announce the new blend", "userId": "u1", **data}
    return h.trigger("skill-execute", "skill.execute", payload)


def test_each_required_section_is_one_call_and_the_output_has_them_all(
    sectioned: Harness, provider: ScriptedProvider
) -> None:
    result = start(sectioned, options={"maxTokens": 300})

    assert result.status is mocked.Status.COMPLETED, result.error
    assert [r.prefill for r in provider.requests] == [f"{h}\n\n" for h in SECTIONS]
    assert {r.max_tokens for r in provider.requests} == {100}  # the run's 300 split over three sections
    run = sectioned.services.runs["r1"]
    assert run.status == "completed"
    assert run.outcome is not None
    output = run.outcome.output
    assert output.startswith("# Announce the new blend\n")
    for name in ("Summary", "Details", "Next steps"):
        assert f"## {name}\n\nWhat the model wrote for {name}." in output
    assert check_format(output, required_sections=SECTIONS) == []
    assert run.outcome.warnings == ()
    # summed over the sections (the in-memory provider counts words)
    assert run.outcome.tokens_out == sum(len(answer_by_section(r).split()) for r in provider.requests)
    assert run.outcome.tokens_in == sum(
        len(r.system_text.split()) + len(r.messages[0].content.split()) for r in provider.requests
    )
    assert run.outcome.cost_usd == 0.0
    stored = sectioned.run(sectioned.store.get(result.output["s3Key"]))
    assert stored.decode() == output
    assert len(sectioned.sent_named("skill.execute.completed")) == 1


def test_a_failing_section_is_retried_alone(sectioned: Harness, provider: ScriptedProvider) -> None:
    provider.replies = [answer_by_section, LLMRateLimited("429"), answer_by_section]
    result = start(sectioned)
    assert result.status is mocked.Status.COMPLETED, result.error
    # section 1 once, section 2 twice (the 429, then the retry), section 3 once
    assert [r.prefill.strip() for r in provider.requests] == [
        "## Summary",
        "## Details",
        "## Details",
        "## Next steps",
    ]
    assert sectioned.services.runs["r1"].status == "completed"


def test_a_permanent_error_in_a_section_fails_the_run_at_once(sectioned: Harness, provider: ScriptedProvider) -> None:
    provider.replies = [answer_by_section, LLMFatalError("400 bad request", status=400)]
    result = start(sectioned)
    assert result.status is mocked.Status.COMPLETED
    assert result.output["code"] == "LLM_FATAL"
    assert len(provider.requests) == 2
    assert sectioned.services.runs["r1"].status == "failed"
    assert len(sectioned.sent_named("skill.execute.failed")) == 1
    assert sectioned.services.outputs == {}


def test_an_unknown_skill_fails_at_the_plan(sectioned: Harness, provider: ScriptedProvider) -> None:
    result = start(sectioned, skill="nope")
    assert result.output["code"] == "SKILL_NOT_FOUND"
    assert provider.requests == []
    assert sectioned.services.runs["r1"].status == "failed"


def test_bad_options_fail_at_the_plan(sectioned: Harness, provider: ScriptedProvider) -> None:
    result = start(sectioned, options={"maxTokens": 0})
    assert result.output["code"] == "VALIDATION_ERROR"
    assert provider.requests == []


def test_a_skill_without_sections_runs_as_one_call(sectioned: Harness, provider: ScriptedProvider) -> None:
    provider.replies = ["Coffee, roasted this week."]
    result = start(sectioned, skill=PLAIN.name)
    assert result.status is mocked.Status.COMPLETED, result.error
    [request] = provider.requests
    assert request.prefill == ""
    run = sectioned.services.runs["r1"]
    assert run.outcome is not None
    assert run.outcome.output == "Coffee, roasted this week.\n"


def test_small_model_mode_follows_the_provider() -> None:
    settings = Settings(_env_file=None, anthropic_api_key="sk-test")  # type: ignore[call-arg]
    assert small_model_mode(settings, None) is False
    assert small_model_mode(settings, ScriptedProvider()) is True
    assert small_model_mode(settings, ScriptedProvider(name=LLMProviderName.ANTHROPIC)) is False
    local = Settings(_env_file=None, llm_provider="local")  # type: ignore[call-arg]
    assert small_model_mode(local, None) is True
