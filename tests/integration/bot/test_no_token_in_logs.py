"""The bot token is part of every Bot API URL; no log record may contain it."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest

from marketing_agent.bot import BotService, InMemoryBotBackend
from marketing_agent.notify import ChannelAddress, ChannelKind, Notification, NotificationKind
from marketing_agent.notify.telegram import TelegramNotifier
from support.fake_telegram import FakeTelegram

from .conftest import make_settings, to_chat


async def test_polling_and_sending_never_log_the_token(
    fake: FakeTelegram, backend: InMemoryBotBackend, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    service = BotService(make_settings(fake), backend, poll_timeout=1)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run_polling(stop))
    fake.push_text(700, "/start")
    await fake.await_call("sendMessage", to_chat(700))
    stop.set()
    await asyncio.wait_for(task, timeout=15)
    async with httpx.AsyncClient() as client:
        notifier = TelegramNotifier(client, token=fake.token, api_base_url=fake.origin)
        message = Notification(kind=NotificationKind.ALERT, title="t", body="b")
        await notifier.send(message, ChannelAddress(ChannelKind.TELEGRAM, "700"))

    messages = [record.getMessage() for record in caplog.records]
    assert any("/bot<redacted>/" in text for text in messages)  # the URLs were logged, redacted
    secret_part = fake.token.split(":", 1)[1]
    assert not [text for text in messages if secret_part in text]
