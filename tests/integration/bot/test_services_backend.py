"""The bot over the real services: SQLite app database, local object store, recorded events."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from marketing_agent import services
from marketing_agent.agent.skill import Skill, SkillCategory, SkillMetadata, SkillSource
from marketing_agent.bot import BotService, notify_run_finished
from marketing_agent.bot.services_backend import ServicesBotBackend
from marketing_agent.errors import OutputNotFound
from marketing_agent.functions.adapters import DatabaseRunServices
from marketing_agent.services import Database, InMemoryEventSender
from marketing_agent.settings import Settings
from marketing_agent.storage import LocalObjectStore
from support.fake_telegram import FakeTelegram

from .conftest import eventually, make_settings, text_of, to_chat

CHAT = 600


def _skill(name: str, description: str, category: SkillCategory | None = None) -> Skill:
    return Skill(
        name=name,
        description=description,
        instructions="Do the work.",
        source=SkillSource.BUILTIN,
        metadata=SkillMetadata(category=category),
    )


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """The app database on SQLite and on PostgreSQL (root conftest; skipped without a server)."""
    await services.upgrade_database(database_url)
    database = Database(database_url)
    await services.sync_skills(
        database,
        [
            _skill("copywriting", "Write marketing copy for any page.", SkillCategory.COPYWRITING),
            _skill("seo-audit", "Audit SEO."),
        ],
    )
    yield database
    await database.dispose()


async def test_link_run_result_and_rating_through_the_services(
    db: Database, tmp_path: Path, fake: FakeTelegram
) -> None:
    store = LocalObjectStore(tmp_path / "store")
    events = InMemoryEventSender()
    created = await services.create_user(db, "ada@example.com")
    settings: Settings = make_settings(fake)
    service = BotService(settings, ServicesBotBackend(db, store, events), poll_timeout=1)
    stop = asyncio.Event()
    polling = asyncio.create_task(service.run_polling(stop))
    try:
        # Link: the chat becomes the user's telegram channel.
        fake.push_text(CHAT, f"/link {created.api_key}")
        await fake.await_call("deleteMessage")
        linked = await services.user_for_telegram_chat(db, CHAT)
        assert linked is not None
        assert linked.id == created.user.id

        # Run: a queued run with the chat and message to edit, and a skill.execute event.
        fake.push_text(CHAT, "/run copywriting Homepage for a CRM")
        await fake.await_call("sendMessage", lambda c: to_chat(CHAT)(c) and "Working on" in text_of(c))
        await eventually(lambda: bool(events.named(services.SKILL_EXECUTE)))
        run_id = events.named(services.SKILL_EXECUTE)[0].data["runId"]
        run = await services.get_skill_run(db, uuid.UUID(run_id))
        working_id = fake.chat_messages(CHAT)[-1]["message_id"]
        assert run.options == {"telegram": {"chatId": CHAT, "messageId": working_id}}

        # The functions finish the run, then edit the chat through the notice they build.
        content = "# CRM homepage\n\nClose deals, not tabs."
        key = f"outputs/copywriting/none/2026-01-01-{run_id}.md"
        await store.put(key, content.encode())
        await services.mark_run_running(db, run_id)
        await services.record_output(db, run_id, storage_key=key, title="CRM homepage", content=content)
        await services.mark_run_completed(db, run_id, tokens_input=10, tokens_output=20, cost_usd=0.001)
        notice = await DatabaseRunServices(db, settings).get_run_notice(str(run_id))
        await notify_run_finished(service.bot, notice)
        edit = fake.calls_to("editMessageText")[-1]
        assert edit.params["message_id"] == str(working_id)
        markup = edit.params["reply_markup"]
        buttons = [b for row in (json.loads(markup) if isinstance(markup, str) else markup)["inline_keyboard"]
                   for b in row]  # fmt: skip

        fake.push_callback(CHAT, working_id, buttons[0]["callback_data"])
        full = await fake.await_call("sendMessage", lambda c: c.params.get("text") == content)
        assert "parse_mode" not in full.params

        fake.push_callback(CHAT, working_id, buttons[5]["callback_data"])  # 5★
        await fake.await_call("answerCallbackQuery", lambda c: "rated 5/5" in str(c.params.get("text")))
        [feedback] = (await services.list_feedback(db, created.user.id)).items
        assert (feedback.overall_score, feedback.source) == (5, "telegram")
        assert events.named(services.FEEDBACK_PROCESS)[0].data["feedbackId"] == str(feedback.id)

        fake.push_text(CHAT, "/status")
        status = await fake.await_call("sendMessage", lambda c: "Recent runs" in str(c.params.get("text")))
        assert "copywriting — completed" in text_of(status)
        assert "CRM homepage" in text_of(status)

        # Unlink: the chat is no longer anyone's channel.
        fake.push_text(CHAT, "/unlink")
        await fake.await_call("sendMessage", lambda c: "unlinked" in str(c.params.get("text")))
        assert await services.user_for_telegram_chat(db, CHAT) is None
    finally:
        stop.set()
        await asyncio.wait_for(polling, timeout=15)


async def test_a_forged_output_id_is_refused(db: Database, tmp_path: Path) -> None:
    backend = ServicesBotBackend(db, LocalObjectStore(tmp_path / "s"), InMemoryEventSender())
    created = await services.create_user(db, "eve@example.com")
    with pytest.raises(OutputNotFound):
        await backend.record_feedback(str(created.user.id), "not-a-uuid", 3)
    assert await backend.link_chat(1, "mak_wrong") is None
    detected = await backend.detect_skill(str(created.user.id), "write homepage copy", use_model=False)
    assert detected.candidates[0] == "copywriting"
    # The category travels from the catalogue through the skills table to the bot's browsing.
    assert [(s.name, s.category) for s in await backend.list_skills()] == [
        ("copywriting", SkillCategory.COPYWRITING),
        ("seo-audit", None),
    ]
