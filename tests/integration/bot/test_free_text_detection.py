"""Free text in the chat through the real services and the real detector: the built-in catalogue in the
app database, the model step through the Anthropic SDK against the local fake Messages API, the chat
against the local Bot API server. Confident → the run starts; otherwise three buttons → the chosen run."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from marketing_agent import services
from marketing_agent.agent.detect import LLMSkillClassifier, SkillDetector
from marketing_agent.agent.skills import load_skill_catalog
from marketing_agent.bot import BotService
from marketing_agent.bot.services_backend import ServicesBotBackend
from marketing_agent.services import Database, InMemoryEventSender
from marketing_agent.settings import load_settings
from marketing_agent.storage import LocalObjectStore
from support.fake_anthropic import FakeAnthropic
from support.fake_llm_server import FakeReply
from support.fake_telegram import ApiCall, FakeTelegram

from .conftest import eventually, make_settings, text_of, to_chat

CHAT = 700


@dataclass
class Chat:
    fake: FakeTelegram
    model: FakeAnthropic
    db: Database
    events: InMemoryEventSender
    user_id: uuid.UUID
    client_id: uuid.UUID

    def runs(self) -> list[dict[str, Any]]:
        return [event.data for event in self.events.named(services.SKILL_EXECUTE)]


@pytest.fixture
def model() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as server:
        yield server


@pytest.fixture
async def chat(database_url: str, tmp_path: Path, fake: FakeTelegram, model: FakeAnthropic) -> AsyncIterator[Chat]:
    await services.upgrade_database(database_url)
    db = Database(database_url)
    await services.sync_skills(db, (await load_skill_catalog()).all())
    user = (await services.create_user(db, "ada@example.com")).user
    client = await services.create_client(db, user.id, name="Acme Plumbing", slug="acme")
    await services.link_telegram_chat(db, user.id, CHAT)
    events = InMemoryEventSender()
    model_settings = load_settings(anthropic_api_key="test-key", anthropic_base_url=model.base_url)
    detector = SkillDetector(LLMSkillClassifier.from_settings(model_settings))
    backend = ServicesBotBackend(db, LocalObjectStore(tmp_path / "store"), events, detector)
    service = BotService(make_settings(fake), backend, poll_timeout=1)
    stop = asyncio.Event()
    polling = asyncio.create_task(service.run_polling(stop))
    try:
        yield Chat(fake, model, db, events, user.id, client.id)
    finally:
        stop.set()
        await asyncio.wait_for(polling, timeout=15)
        await detector.aclose()
        await db.dispose()


def _buttons(call: ApiCall) -> list[dict[str, Any]]:
    markup = call.params.get("reply_markup") or {}
    if isinstance(markup, str):
        markup = json.loads(markup)
    return [button for row in markup.get("inline_keyboard", []) for button in row]


async def test_a_confident_request_runs_at_once_for_the_client_it_names(chat: Chat) -> None:
    chat.fake.push_text(CHAT, "Write a press release about Acme Plumbing opening a second office")
    working = await chat.fake.await_call("sendMessage", to_chat(CHAT))
    assert "Working on press-release" in text_of(working)
    await eventually(lambda: bool(chat.runs()))
    [run] = chat.runs()
    assert run["skillName"] == "press-release"
    assert run["clientId"] == str(chat.client_id)
    assert chat.model.requests == []  # the keywords settled it


async def test_an_unclear_request_offers_three_skills_then_runs_the_chosen_one(chat: Chat) -> None:
    # The model is asked and is not sure: its pick comes first among the buttons, nothing runs yet.
    chat.model.enqueue(FakeReply(text=json.dumps({"skill": "launch-strategy", "confidence": 0.3})))
    text = "acme: copy for the launch page, we need more conversion"
    chat.fake.push_text(CHAT, text)
    question = await chat.fake.await_call("sendMessage", to_chat(CHAT))
    assert text_of(question) == "Which skill should handle this?"
    choices = _buttons(question)
    assert len(choices) == 3
    assert choices[0]["text"] == "launch-strategy"
    assert len(chat.model.requests) == 1
    assert chat.runs() == []

    question_id = chat.fake.chat_messages(CHAT)[-1]["message_id"]
    chat.fake.push_callback(CHAT, question_id, choices[1]["callback_data"])
    working = await chat.fake.await_call("editMessageText")
    assert f"Working on {choices[1]['text']}" in text_of(working)
    await eventually(lambda: bool(chat.runs()))
    [run] = chat.runs()
    assert run["skillName"] == choices[1]["text"]
    assert run["userMessage"] == text
    assert run["clientId"] == str(chat.client_id)  # named by its slug
    assert len(chat.model.requests) == 1  # the button press asked no model
