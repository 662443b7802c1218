"""A run started from the Telegram bot: its "working on it" message becomes the result."""

from __future__ import annotations

import uuid

import httpx

from marketing_agent.services import (
    InngestEventSender,
    create_run,
    get_skill_run,
    link_telegram_chat,
)
from support.agent_system import TELEGRAM_TOKEN, AgentSystem

CHAT = 5151


async def test_the_bots_message_is_edited_instead_of_a_second_message(system: AgentSystem) -> None:
    first = await system.wait_run(await system.start_run())  # any run, to learn the test user's id
    user_id = (await get_skill_run(system.database, uuid.UUID(first["id"]))).user_id
    # Its notification must be over before the chat is linked, or a slow one lands in the chat too.
    await system.wait_engine_runs("notify-completion", count=1)
    await link_telegram_chat(system.database, user_id, CHAT)
    async with httpx.AsyncClient() as http:  # what the bot does when it accepts a request
        working = await http.post(
            f"{system.telegram.origin}/bot{TELEGRAM_TOKEN}/sendMessage",
            json={"chat_id": CHAT, "text": "Working on it…"},
        )
    message_id = working.json()["result"]["message_id"]

    events = InngestEventSender(system.client)
    run = await create_run(
        system.database, events, user_id, skill_name="copywriting", message="Hero copy",
        options={"telegram": {"chatId": CHAT, "messageId": message_id}},
    )  # fmt: skip
    finished = await system.wait_run(str(run.id))
    assert finished["status"] == "completed"

    edit = await system.telegram.await_call(
        "editMessageText",
        lambda c: int(c.params["chat_id"]) == CHAT and int(c.params["message_id"]) == message_id,
    )
    assert "Homepage hero" in str(edit.params["text"])
    await system.wait_engine_runs("notify-completion", count=2)
    to_chat = [c for c in system.telegram.calls_to("sendMessage") if int(c.params["chat_id"]) == CHAT]
    assert len(to_chat) == 1  # only the bot's own "working on it"; the result edited it
    [shown] = system.telegram.chat_messages(CHAT)
    assert "Homepage hero" in shown["text"]
