"""The loop's rules that need no server: skill fields, tool planning, limits, settings."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from marketing_agent.agent.execute import SkillOptions
from marketing_agent.agent.llm import LLMProvider, LLMRequest, LLMResponse
from marketing_agent.agent.loop import decide_turn, plan_run
from marketing_agent.agent.loop_records import LoopLimits, LoopPlan, TurnRecord
from marketing_agent.agent.skill import SkillSource, ToolName
from marketing_agent.agent.skills import builtin_skills_dir, load_skill_folder, parse_skill_files
from marketing_agent.agent.tools import ToolSetup
from marketing_agent.errors import SkillInvalid
from marketing_agent.settings import LLMProviderName, Settings

FRONT = "---\nname: audit\ndescription: Audits.\n{extra}---\nDo it.\n"


def skill(extra: str = "") -> object:
    return parse_skill_files("audit", {"SKILL.md": FRONT.format(extra=extra)}, SkillSource.BUILTIN, "test")


def test_allowed_tools_are_space_separated_names() -> None:
    parsed = parse_skill_files(
        "audit",
        {
            "SKILL.md": FRONT.format(
                extra="allowed-tools: web_fetch  web_search web_fetch\nmetadata:\n  max_turns: 4\n  max_tool_calls: 9\n"
            )
        },
        SkillSource.BUILTIN,
        "test",
    )
    assert parsed.allowed_tools == (ToolName.WEB_FETCH, ToolName.WEB_SEARCH)
    assert (parsed.metadata.max_turns, parsed.metadata.max_tool_calls) == (4, 9)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("allowed-tools: web_fetch Bash\n", "unknown tool 'Bash'"),
        ("allowed-tools: 3\n", "allowed-tools must be a space-separated string"),
        ("metadata:\n  max_turns: 0\n", "metadata.max_turns must be an integer from 1 to 50"),
        ("metadata:\n  max_tool_calls: many\n", "metadata.max_tool_calls must be an integer from 1 to 100"),
    ],
)
def test_bad_tool_fields_name_the_problem(extra: str, message: str) -> None:
    with pytest.raises(SkillInvalid, match=message):
        skill(extra)


@pytest.mark.parametrize(
    "name", ["seo-audit", "page-cro", "competitor-research", "competitor-alternatives", "customer-research"]
)
def test_the_research_skills_use_the_tools(name: str) -> None:
    loaded = load_skill_folder(builtin_skills_dir() / name, SkillSource.BUILTIN)
    assert ToolName.WEB_FETCH in loaded.allowed_tools
    assert "web_fetch" in loaded.instructions
    assert "source" in loaded.instructions  # cite the URL


class _Provider:
    def __init__(self, name: LLMProviderName) -> None:
        self._name = name

    @property
    def name(self) -> LLMProviderName:
        return self._name

    @property
    def default_model(self) -> str:
        return "m"

    async def complete(self, request: LLMRequest) -> LLMResponse:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


def test_plan_offers_anthropics_search_and_keeps_the_local_model_to_one_turn() -> None:
    audit = skill("allowed-tools: web_fetch web_search read_client_file\n")
    provider: LLMProvider = _Provider(LLMProviderName.ANTHROPIC)
    plan = plan_run(audit, provider, settings(), SkillOptions(), has_client=False)  # type: ignore[arg-type]
    assert plan.tools == ToolSetup((ToolName.WEB_FETCH,), True, ("read_client_file (the run has no client)",))
    assert (plan.limits.max_turns, plan.limits.max_tool_calls, plan.limits.max_cost_usd) == (10, 20, 1.0)
    local = plan_run(audit, _Provider(LLMProviderName.LOCAL), settings(), SkillOptions(), has_client=True)  # type: ignore[arg-type]
    assert not local.uses_tools
    assert local.limits.max_turns == 1
    assert "the local model cannot use tools" in local.warnings[0]


def test_without_a_search_provider_openai_runs_get_no_web_search() -> None:
    audit = skill("allowed-tools: web_search\n")
    plan = plan_run(audit, _Provider(LLMProviderName.OPENAI), settings(), SkillOptions(), has_client=False)  # type: ignore[arg-type]
    assert not plan.uses_tools
    assert plan.warnings == ("tool not available: web_search (no search provider configured: set SEARCH_PROVIDER)",)


def limits_plan(**limits: object) -> LoopPlan:
    values = {
        "max_turns": 10,
        "max_tool_calls": 20,
        "max_cost_usd": 1.0,
        "max_tokens": 500_000,
        "max_output_tokens": 1000,
    }
    return LoopPlan("audit", ToolSetup((ToolName.WEB_FETCH,)), LoopLimits(**{**values, **limits}))  # type: ignore[arg-type]


def turn(tokens_in: int = 10_000, cost: float | None = 0.02) -> TurnRecord:
    return TurnRecord(
        text="",
        model="claude-sonnet-5-5",
        provider="anthropic",
        tokens_input=tokens_in,
        tokens_output=200,
        cost_usd=cost,
    )


def test_the_last_allowed_turn_is_final() -> None:
    plan = limits_plan(max_turns=3)
    assert not decide_turn(plan, [turn()], calls_used=1, pending_chars=0).final
    last = decide_turn(plan, [turn(), turn()], calls_used=2, pending_chars=0)
    assert (last.final, last.final_limit, last.stop) == (True, "max_turns (3)", None)
    calls = decide_turn(limits_plan(max_tool_calls=2), [turn()], calls_used=2, pending_chars=0)
    assert calls.final_limit == "max_tool_calls (2)"


def test_a_turn_that_could_cross_the_budget_is_not_started() -> None:
    # spent 0.30; the next turn reads ~10k + 40k/4 tokens at $2/M and may write 1000 at $10/M: about 0.05
    stop = decide_turn(limits_plan(max_cost_usd=0.33), [turn(cost=0.30)], calls_used=1, pending_chars=40_000)
    assert stop.stop is not None
    assert stop.stop.startswith("RUN_MAX_COST_USD (0.33 USD) would be exceeded")
    near = decide_turn(limits_plan(max_cost_usd=0.38), [turn(cost=0.30)], calls_used=1, pending_chars=40_000)
    assert (near.stop, near.final) == (None, True)  # one more turn fits, two do not: answer now
    tokens = decide_turn(limits_plan(max_tokens=15_000), [turn()], calls_used=1, pending_chars=0)
    assert tokens.stop is not None
    assert tokens.stop.startswith("RUN_MAX_TOKENS (15000) would be exceeded")


def test_the_allow_list_setting_is_checked_at_start_up() -> None:
    assert settings(web_fetch_allow_hosts="127.0.0.2, example.test:8080").web_fetch_allow_hosts
    with pytest.raises(ValidationError, match="allow-list entry 'http://x/'"):
        settings(web_fetch_allow_hosts="http://x/")
