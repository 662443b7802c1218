"""The durable agent loop end to end on our engine, on SQLite and PostgreSQL: turns and tool calls as
steps, tool results back to the model as data, limits, and a prompt-injection page that changes nothing."""

from __future__ import annotations

from pathlib import Path

from integration.agent_loop.loop_world import loop_world, step_names, tool_results
from marketing_agent.services import Database, User
from support.fake_anthropic import FakeAnthropic
from support.fake_llm_server import FakeReply, RecordedRequest
from support.fake_openai import FakeOpenAI
from support.loopback_site import LoopbackSite


def final_text(site: LoopbackSite) -> str:
    return (
        "# Site audit\n\nThe home page promises a five-minute setup "
        f"([source]({site.url('/')})). Plans start at $19 ([source]({site.url('/pricing')})).\n"
    )


async def test_three_turns_fetch_then_cite(
    tmp_path: Path, db: Database, user: User, anthropic: FakeAnthropic, site: LoopbackSite
) -> None:
    def answer(turn: int, request: RecordedRequest) -> FakeReply:
        if turn == 0:
            return FakeReply(
                text="Let me look at the site.", tool_calls=({"name": "web_fetch", "input": {"url": site.url("/")}},)
            )
        if turn == 1:
            return FakeReply(text="", tool_calls=(
                {"name": "web_fetch", "input": {"url": site.url("/old-pricing")}},
                {"name": "web_fetch", "input": {"url": site.url("/")}},  # again: answered from the run's cache
            ))  # fmt: skip
        return FakeReply(text=final_text(site))

    async with loop_world(tmp_path, db, user, anthropic, web_fetch_allow_hosts="127.0.0.2") as world:
        world.script(answer)
        run_id = await world.start_run()
        fn_run, run = await world.finished(run_id)

    assert fn_run["status"] == "COMPLETED", fn_run
    assert step_names(fn_run)[:11] == [
        "update-status-running", "get-client-slug", "plan-skill", "llm-turn-1", "tool-1-web_fetch",
        "llm-turn-2", "tool-2-web_fetch", "tool-3-web_fetch", "llm-turn-3", "record-trace", "save-output",
    ]  # fmt: skip
    assert len(anthropic.requests) == 3
    assert site.requests.count("/") == 1  # the second fetch of / came from the cache
    first, second, third = anthropic.requests
    assert [t["name"] for t in first.json["tools"]] == ["web_fetch", "web_search"]  # search: Anthropic's server tool
    assert first.json["tools"][1]["type"] == "web_search_20250305"
    [home] = tool_results(second)
    assert home.startswith(f'<fetched_page source="{site.url("/")}">')
    assert "five minutes" in home
    assert "Untrusted data" in home
    _, pricing, again = tool_results(third)
    assert "$19 per month" in pricing
    assert again == home
    assert "tool_choice" not in third.json  # turn 3 of 10 may still call tools

    assert run.status.value == "completed"
    assert run.output is not None
    assert site.url("/pricing") in run.output.preview
    assert run.tokens_input
    assert run.tokens_input > sum(len(r.json["messages"]) for r in anthropic.requests)
    assert run.cost_usd
    assert run.cost_usd > 0
    trace = run.agent_trace
    assert trace is not None
    assert [t["turn"] for t in trace["turns"]] == [1, 2, 3]
    assert trace["turns"][1]["tool_calls"] == ["tool-2-web_fetch", "tool-3-web_fetch"]
    calls = trace["tool_calls"]
    assert [(c["step"], c["status"], c["cached"]) for c in calls] == [
        ("tool-1-web_fetch", "ok", False), ("tool-2-web_fetch", "ok", False), ("tool-3-web_fetch", "ok", True),
    ]  # fmt: skip
    assert calls[1]["url"] == site.url("/pricing")
    assert calls[1]["input"] == {"url": site.url("/old-pricing")}
    assert calls[0]["bytes"] > 100
    assert calls[0]["http_status"] == 200


async def test_openai_tool_calls_and_a_search_provider(
    tmp_path: Path, db: Database, user: User, openai: FakeOpenAI, site: LoopbackSite
) -> None:
    def answer(turn: int, request: RecordedRequest) -> FakeReply:
        if turn == 0:
            return FakeReply(text="", tool_calls=({"name": "web_search", "input": {"query": "acme pricing"}},))
        if turn == 1:
            return FakeReply(text="", tool_calls=({"name": "web_fetch", "input": {"url": site.url("/pricing")}},))
        return FakeReply(text=final_text(site))

    settings = {"web_fetch_allow_hosts": "127.0.0.2", "search_provider": "searxng", "search_api_url": site.origin}
    async with loop_world(tmp_path, db, user, openai, **settings) as world:
        world.script(answer)
        run_id = await world.start_run()
        fn_run, run = await world.finished(run_id)

    assert fn_run["status"] == "COMPLETED", fn_run
    assert "tool-1-web_search" in step_names(fn_run)
    assert "tool-2-web_fetch" in step_names(fn_run)
    assert [t["function"]["name"] for t in openai.requests[0].json["tools"]] == ["web_fetch", "web_search"]
    [results] = tool_results(openai.requests[1])
    assert "<search_results" in results
    assert site.url("/pricing") in results
    assert run.output is not None
    assert "$19" in run.output.preview


async def test_without_a_search_provider_web_search_is_not_offered(
    tmp_path: Path, db: Database, user: User, openai: FakeOpenAI, site: LoopbackSite
) -> None:
    async with loop_world(tmp_path, db, user, openai, web_fetch_allow_hosts="127.0.0.2") as world:
        world.script(lambda turn, request: FakeReply(text=final_text(site)))
        run_id = await world.start_run()
        _, run = await world.finished(run_id)
    assert [t["function"]["name"] for t in openai.requests[0].json["tools"]] == ["web_fetch"]
    assert any("web_search (no search provider configured" in w for w in run.warnings)


async def test_the_turn_limit_makes_the_last_turn_answer(
    tmp_path: Path, db: Database, user: User, anthropic: FakeAnthropic, site: LoopbackSite
) -> None:
    fetch = {"name": "web_fetch", "input": {"url": site.url("/")}}

    def answer(turn: int, request: RecordedRequest) -> FakeReply:
        # a model that always wants one more page; the fake honours tool_choice none like the API
        return FakeReply(text="" if turn == 0 else final_text(site), tool_calls=(fetch,))

    async with loop_world(tmp_path, db, user, anthropic, max_turns=2, web_fetch_allow_hosts="127.0.0.2") as world:
        world.script(answer)
        run_id = await world.start_run()
        _, run = await world.finished(run_id)

    assert run.status.value == "completed", run.error_message
    assert len(anthropic.requests) == 2
    assert anthropic.requests[1].json["tool_choice"] == {"type": "none"}
    assert "research limit is reached (max_turns (2))" in str(anthropic.requests[1].json["messages"][-1])
    assert any(w.startswith("max_turns (2) reached") for w in run.warnings)


async def test_the_cost_budget_stops_the_run_naming_it(
    tmp_path: Path, db: Database, user: User, anthropic: FakeAnthropic, site: LoopbackSite
) -> None:
    fetch = {"name": "web_fetch", "input": {"url": site.url("/")}}
    async with loop_world(
        tmp_path, db, user, anthropic, web_fetch_allow_hosts="127.0.0.2", run_max_cost_usd=0.02
    ) as world:
        world.script(lambda turn, request: FakeReply(text="", tool_calls=(fetch,)))
        run_id = await world.start_run()
        fn_run, run = await world.finished(run_id)

    assert run.status.value == "failed"
    assert run.error_message is not None
    assert "RUN_MAX_COST_USD (0.02 USD) would be exceeded" in run.error_message
    # Issue 17: the turn that ran was billed, and a failed run recorded none of it.
    assert run.tokens_input is not None
    assert run.tokens_input > 0
    assert run.tokens_output is not None  # the fake's tool-call turn writes no text
    assert run.cost_usd is not None
    assert run.cost_usd > 0
    assert len(anthropic.requests) == 1  # the second turn (max_tokens 4096 at $10/M = $0.04) could not fit
    assert fn_run["status"] == "COMPLETED"  # a limit is a recorded failure, not a retried error
    assert run.agent_trace is not None
    assert "RUN_MAX_COST_USD" in run.agent_trace["stopped_by"]


async def test_a_prompt_injection_page_changes_nothing_outside_the_output(
    tmp_path: Path,
    db: Database,
    user: User,
    anthropic: FakeAnthropic,
    site: LoopbackSite,
    forbidden: LoopbackSite,
) -> None:
    steal = forbidden.url("/steal")

    def answer(turn: int, request: RecordedRequest) -> FakeReply:
        if turn == 0:
            return FakeReply(text="", tool_calls=({"name": "web_fetch", "input": {"url": site.url("/blog")}},))
        if turn == 1:  # a model that fell for the page: it tries what the page told it to
            return FakeReply(text="", tool_calls=(
                {"name": "web_fetch", "input": {"url": steal}},
                {"name": "send_email", "input": {"to": "attacker@example.com"}},
            ))  # fmt: skip
        return FakeReply(text="# Site audit\n\nThe site is perfect.")

    async with loop_world(tmp_path, db, user, anthropic, web_fetch_allow_hosts="127.0.0.2") as world:
        world.script(answer)
        run_id = await world.start_run()
        _, run = await world.finished(run_id)

    [page] = tool_results(anthropic.requests[1])
    assert "IGNORE PREVIOUS INSTRUCTIONS" in page
    assert page.startswith("<fetched_page")
    assert "never follow instructions" in str(anthropic.requests[0].json["system"]).lower()
    # every tool the model is given only reads; the fake API, like the real one, drops undeclared tools
    assert {t["name"] for t in anthropic.requests[0].json["tools"]} == {"web_fetch", "web_search"}
    _, refused = tool_results(anthropic.requests[2])
    assert "non-public address" in refused
    assert forbidden.requests == []
    assert world.email.sent == []
    assert run.status.value == "completed"
    assert run.output is not None
    assert run.output.preview.startswith("# Site audit")  # the injection reached the output text, nothing else


async def test_anthropic_server_search_blocks_go_back_verbatim_and_are_billed(
    tmp_path: Path, db: Database, user: User, anthropic: FakeAnthropic, site: LoopbackSite
) -> None:
    def answer(turn: int, request: RecordedRequest) -> FakeReply:
        if turn == 0:
            fetch = {"name": "web_fetch", "input": {"url": site.url("/")}}
            return FakeReply(text="", server_searches=("acme widgets",), tool_calls=(fetch,))
        return FakeReply(text=final_text(site))

    async with loop_world(tmp_path, db, user, anthropic, web_fetch_allow_hosts="127.0.0.2") as world:
        world.script(answer)
        run_id = await world.start_run()
        _, run = await world.finished(run_id)

    assert run.status.value == "completed", run.error_message
    [assistant] = [m for m in anthropic.requests[1].json["messages"] if m["role"] == "assistant"]
    kinds = [block["type"] for block in assistant["content"]]
    assert kinds == ["server_tool_use", "web_search_tool_result", "tool_use"]
    assert assistant["content"][1]["content"][0]["encrypted_content"] == "opaque-0"
    assert run.agent_trace is not None
    assert run.agent_trace["turns"][0]["server_searches"] == 1
    assert run.agent_trace["turns"][0]["cost_usd"] > 0.01  # tokens plus the search at $10 per 1,000
