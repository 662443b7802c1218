"""``POST /api/v1/runs`` to a finished run, through the API, our engine, the functions and the fakes."""

from __future__ import annotations

from typing import Any

import pytest

from support.agent_system import AgentSystem
from support.fake_anthropic import anthropic_error

CHAT = 4242


async def _happy_path(system: AgentSystem) -> None:
    refused = await system.api.post("/me/channels", json={"channel": "telegram", "address": str(CHAT)})
    assert refused.status_code == 422, refused.text  # only the bot links a chat, from the chat itself
    await system.link_chat(CHAT)
    run_id = await system.start_run()

    run = await system.wait_run(run_id)
    assert run["status"] == "completed", run
    assert run["tokensInput"] > 0
    assert run["tokensOutput"] > 0
    assert run["costUsd"] > 0
    output = run["output"]
    assert output["title"] == "Homepage hero"

    content = await system.api.get(f"/outputs/{output['id']}/content")
    assert content.status_code == 200
    assert content.headers["content-type"].startswith("text/markdown")
    assert content.text.strip() == "# Homepage hero\n\nShip faster with Acme."
    stored = list((system.settings.data_dir / "storage" / "outputs" / "copywriting").rglob(f"*-{run_id}.md"))
    assert len(stored) == 1

    [completed] = await system.events("skill.execute.completed")
    assert completed["payload"]["data"]["runId"] == run_id
    assert completed["payload"]["data"]["outputId"] == output["id"]

    sent = await system.telegram.await_call("sendMessage", lambda c: int(c.params["chat_id"]) == CHAT)
    assert "Homepage hero" in str(sent.params["text"])
    assert len(system.llm.requests) == 1


async def test_run_completes_with_output_usage_event_and_telegram_message(system: AgentSystem) -> None:
    await _happy_path(system)


@pytest.mark.postgres
async def test_run_completes_on_postgresql(system_on_postgres: AgentSystem) -> None:
    await _happy_path(system_on_postgres)


async def test_run_completes_through_an_openai_compatible_server(system_on_openai: AgentSystem) -> None:
    await _happy_path(system_on_openai)


def _step(run: dict[str, Any], name: str) -> dict[str, Any]:
    [step] = [s for s in run["steps"] if s["name"] == name]
    return step


async def test_two_rate_limits_then_success_completes_after_retries(system: AgentSystem) -> None:
    system.llm.enqueue(anthropic_error(429), anthropic_error(429))
    run_id = await system.start_run()
    run = await system.wait_run(run_id)
    assert run["status"] == "completed"
    assert len(system.llm.requests) == 3
    [fn_run] = await system.wait_engine_runs("skill-execute")
    assert _step(fn_run, "execute-skill")["attempts"] == 3
    assert await system.events("skill.execute.failed") == []


async def test_bad_request_fails_at_once_with_failed_event(system: AgentSystem) -> None:
    system.llm.enqueue(anthropic_error(400, message="messages: invalid"))
    run_id = await system.start_run()
    run = await system.wait_run(run_id)
    assert run["status"] == "failed"
    assert "invalid" in run["errorMessage"]
    assert len(system.llm.requests) == 1  # not retried
    [failed] = await system.events("skill.execute.failed")
    assert failed["payload"]["data"]["runId"] == run_id
    assert failed["payload"]["data"]["retryable"] is False
    assert await system.engine_runs("skill-execute-failure", ended=False) == []


async def test_always_overloaded_exhausts_retries_then_on_failure_fails_the_run(system: AgentSystem) -> None:
    system.llm.enqueue(*[anthropic_error(529) for _ in range(4)])
    run_id = await system.start_run()
    run = await system.wait_run(run_id, timeout=60)
    assert run["status"] == "failed"
    assert len(system.llm.requests) == 4  # retries=3
    [fn_run] = await system.wait_engine_runs("skill-execute")
    assert fn_run["status"] == "FAILED"
    [handler] = await system.wait_engine_runs("skill-execute-failure")
    assert handler["status"] == "COMPLETED"
    [failed] = await system.events("skill.execute.failed")
    assert failed["payload"]["data"] == {"runId": run_id, "error": run["errorMessage"], "retryable": False}
