"""The built-in seo-audit skill researches a loopback website through the whole system (API, engine,
functions, the real Anthropic SDK against the fake server), and the run's detail lists its turns and tool
calls; `run --follow`'s step lines describe each tool call from the engine's step record."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from marketing_agent._step_lines import tool_detail
from support.agent_system import AgentSystem, agent_system, system_settings
from support.fake_anthropic import FakeAnthropic
from support.fake_llm_server import FakeReply, RecordedRequest
from support.fake_telegram import FakeTelegram
from support.loopback_site import LoopbackSite


@pytest.fixture
def site() -> Iterator[LoopbackSite]:
    with LoopbackSite("127.0.0.2") as running:
        yield running


@pytest.fixture
async def researching(
    tmp_path: Path, llm: FakeAnthropic, telegram: FakeTelegram, site: LoopbackSite
) -> AsyncIterator[AgentSystem]:
    settings = system_settings(tmp_path, f"sqlite:///{tmp_path / 'app.db'}", llm, telegram)
    settings = settings.model_copy(update={"web_fetch_allow_hosts": "127.0.0.2"})
    async with agent_system(settings, llm, telegram) as running:
        yield running


async def test_seo_audit_fetches_the_site_and_the_run_lists_turns_and_tool_calls(
    researching: AgentSystem, llm: FakeAnthropic, site: LoopbackSite
) -> None:
    def answer(request: RecordedRequest) -> FakeReply:
        if not any(m["role"] == "assistant" for m in request.json["messages"]):
            return FakeReply(text="", tool_calls=({"name": "web_fetch", "input": {"url": site.url("/")}},))
        return FakeReply(text=f"# SEO audit: Acme\n\n## Summary\n\nThe title is clear ([source]({site.url('/')})).\n")

    llm.responder = answer
    run_id = await researching.start_run("seo-audit", f"Audit {site.url('/')}")
    run = await researching.wait_run(run_id, timeout=60)

    assert run["status"] == "completed", run["errorMessage"]
    assert [t["turn"] for t in run["turns"]] == [1, 2]
    assert run["turns"][0]["toolCalls"] == ["tool-1-web_fetch"]
    [call] = run["toolCalls"]
    assert call["step"] == "tool-1-web_fetch"
    assert call["name"] == "web_fetch"
    assert call["input"] == {"url": site.url("/")}
    assert call["status"] == "ok"
    assert call["httpStatus"] == 200
    assert call["bytes"] > 100
    assert call["durationMs"] >= 0
    assert "fetched_page" in str(llm.requests[1].json["messages"])

    [fn_run] = await researching.wait_engine_runs("skill-execute")
    [step] = [s for s in fn_run["steps"] if s["name"] == "tool-1-web_fetch"]
    assert tool_detail(step).startswith(f" — web_fetch {site.url('/')}: ok, HTTP 200, ")
