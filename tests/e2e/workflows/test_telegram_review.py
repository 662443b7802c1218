"""Reviewing a workflow stage from Telegram: the real bot (polling the fake Bot API) over the services.

Approve is one button press; Revise asks for the notes and takes them from the reply to its question.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from marketing_agent.bot import BotService
from marketing_agent.bot.services_backend import ServicesBotBackend
from marketing_agent.services import InngestEventSender
from marketing_agent.storage import open_object_store
from support.agent_system import AgentSystem

from .conftest import CHAT, stage_of, start_workflow, wait_workflow


@pytest.fixture
async def bot(system: AgentSystem) -> AsyncIterator[BotService]:
    backend = ServicesBotBackend(system.database, open_object_store(system.settings), InngestEventSender(system.client))
    service = BotService(system.settings, backend, poll_timeout=1)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run_polling(stop))
    await system.telegram.await_call("getUpdates")
    yield service
    stop.set()
    await asyncio.wait_for(task, timeout=15)


async def _review_buttons(system: AgentSystem, stage: str, attempt: int = 1) -> tuple[int, dict[str, str]]:
    """The ``attempt``-th review request for ``stage`` in the chat: its message id and button data by label."""
    await system.telegram.await_calls("sendMessage", attempt, lambda c: f"“{stage}”" in str(c.params["text"]))
    for message in reversed(system.telegram.chat_messages(CHAT)):
        markup = message.get("reply_markup") or {}
        rows = markup.get("inline_keyboard") or []
        if rows and f"“{stage}”" in str(message.get("text")):
            return int(message["message_id"]), {b["text"]: b["callback_data"] for b in rows[0]}
    raise AssertionError(f"no review request for {stage}: {system.telegram.chat_messages(CHAT)}")


async def _question(system: AgentSystem) -> dict[str, Any]:
    call = await system.telegram.await_call("sendMessage", lambda c: "What should change?" in str(c.params["text"]))
    [message] = [m for m in system.telegram.chat_messages(CHAT) if m.get("text") == call.params["text"]]
    return message


async def test_approve_and_revise_from_telegram(system: AgentSystem, bot: BotService) -> None:
    wr = await start_workflow(system, "review-chain", {"product": "Acme CI"})
    await wait_workflow(system, wr, stage="draft", status="awaiting_review")
    message_id, buttons = await _review_buttons(system, "draft")
    assert set(buttons) == {"Approve", "Revise", "Reject"}
    system.telegram.push_callback(CHAT, message_id, buttons["Approve"])
    await wait_workflow(system, wr, stage="rewrite", status="awaiting_review")

    message_id, buttons = await _review_buttons(system, "rewrite")
    system.telegram.push_callback(CHAT, message_id, buttons["Revise"])
    question = await _question(system)
    reply = system.telegram.make_text_update(CHAT, "Say it is open source.")
    reply["message"]["reply_to_message"] = question
    system.telegram.push_update(reply)
    run = await wait_workflow(system, wr, stage="rewrite", status="revising")
    assert stage_of(run, "rewrite")["notes"] == "Say it is open source."
    await _review_buttons(system, "rewrite", attempt=2)  # the revised draft is up for review again
    assert "Say it is open source." in str(system.llm.requests[-1].json)
