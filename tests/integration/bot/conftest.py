"""A bot wired to the fake Bot API and an in-memory backend, polling in the test's event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import pytest

from marketing_agent.agent.skill import SkillCategory
from marketing_agent.bot import BotService, InMemoryBotBackend, LinkedUser, SkillSummary
from marketing_agent.settings import Settings
from support.fake_telegram import ApiCall, FakeTelegram, parse_html, running_fake_telegram

API_KEY = "mak_" + "k" * 43
USER = LinkedUser(user_id="5a1e0000-0000-4000-8000-000000000001", email="marketer@example.com")
SKILLS = [
    SkillSummary(
        "copywriting",
        "Write marketing copy for any page: homepage, landing, pricing.",
        ("copy",),
        SkillCategory.COPYWRITING,
    ),
    SkillSummary(
        "email-sequence", "Plan and write an e-mail sequence: onboarding, nurture, win-back.", (), SkillCategory.EMAIL
    ),
    SkillSummary("seo-audit", "Audit a site's SEO: technical, on-page, content gaps.", ("seo",), SkillCategory.SEO),
    SkillSummary("launch-strategy", "Plan a product launch across channels.", ("launch",), SkillCategory.STRATEGY),
    SkillSummary("page-cro", "Improve a page's conversion rate.", ("conversion",), SkillCategory.CRO),
    SkillSummary("positioning", "Find the positioning that wins against alternatives.", (), SkillCategory.STRATEGY),
    SkillSummary("press-release", "Write a press release for an announcement.", ("press",)),
]


def make_settings(fake: FakeTelegram, **values: object) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        telegram_bot_token=fake.token,
        telegram_api_base_url=fake.origin,
        telegram_webhook_secret="s3cret-webhook-token",
        **values,
    )


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with running_fake_telegram() as server:
        yield server


@pytest.fixture
def backend() -> InMemoryBotBackend:
    return InMemoryBotBackend(SKILLS, users={API_KEY: USER})


@dataclass
class PollingBot:
    service: BotService
    backend: InMemoryBotBackend
    fake: FakeTelegram


@pytest.fixture
async def polling_bot(fake: FakeTelegram, backend: InMemoryBotBackend) -> AsyncIterator[PollingBot]:
    """The bot long-polling the fake server (1 s getUpdates timeout keeps shutdown quick)."""
    service = BotService(make_settings(fake), backend, poll_timeout=1)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run_polling(stop))
    await fake.await_call("getUpdates")
    yield PollingBot(service, backend, fake)
    stop.set()
    await asyncio.wait_for(task, timeout=15)


def text_of(call: ApiCall) -> str:
    """The text as the chat shows it (HTML markup parsed away, like Telegram does)."""
    raw = str(call.params.get("text", call.params.get("caption", "")))
    return parse_html(raw) if call.params.get("parse_mode") == "HTML" else raw


def to_chat(chat_id: int) -> Callable[[ApiCall], bool]:
    return lambda call: str(call.params.get("chat_id")) == str(chat_id)


async def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for the bot to finish what it does after its last API call."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)
