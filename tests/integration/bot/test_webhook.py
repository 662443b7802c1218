"""Webhook mode: POST /api/v1/webhooks/telegram checks the secret token before anything else."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from marketing_agent.bot import BotService, InMemoryBotBackend, create_telegram_webhook_router, origin_editor
from marketing_agent.errors import ConfigError
from support.fake_telegram import FakeTelegram

from .conftest import API_KEY, USER, make_settings, text_of, to_chat

PATH = "/api/v1/webhooks/telegram"
SECRET = "s3cret-webhook-token"


@pytest.fixture
async def service(fake: FakeTelegram, backend: InMemoryBotBackend) -> AsyncIterator[BotService]:
    async with BotService(make_settings(fake), backend) as bot_service:
        yield bot_service


@pytest.fixture
async def client(service: BotService) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.include_router(create_telegram_webhook_router(service))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
        yield http


def _api_calls(fake: FakeTelegram) -> list[str]:
    return [call.method for call in fake.calls if call.method != "getMe"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-Telegram-Bot-Api-Secret-Token": "guess"}, {"X-Telegram-Bot-Api-Secret-Token": SECRET + "x"}],
    ids=["missing", "wrong", "longer"],
)
async def test_a_forged_update_is_refused_and_not_processed(
    client: httpx.AsyncClient, fake: FakeTelegram, backend: InMemoryBotBackend, headers: dict[str, str]
) -> None:
    update = fake.make_text_update(500, f"/link {API_KEY}")
    response = await client.post(PATH, json=update, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"
    assert _api_calls(fake) == []  # nothing sent, nothing deleted
    assert backend.links == {}


async def test_an_authentic_update_is_processed(
    client: httpx.AsyncClient, fake: FakeTelegram, backend: InMemoryBotBackend
) -> None:
    update = fake.make_text_update(501, f"/link {API_KEY}")
    response = await client.post(PATH, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert response.status_code == 200
    assert backend.links[501] == USER
    assert fake.calls_to("deleteMessage")[0].params["message_id"] == str(update["message"]["message_id"])
    reply = fake.calls_to("sendMessage")[-1]
    assert to_chat(501)(reply)
    assert text_of(reply).startswith("Linked to marketer@example.com")


async def test_a_body_that_is_not_an_update_is_a_400(client: httpx.AsyncClient, fake: FakeTelegram) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    assert (await client.post(PATH, content=b"{not json", headers=headers)).status_code == 400
    assert (await client.post(PATH, json={"hello": 1}, headers=headers)).status_code == 400
    assert _api_calls(fake) == []


async def test_without_a_configured_secret_everything_is_refused(
    fake: FakeTelegram, backend: InMemoryBotBackend
) -> None:
    settings = make_settings(fake).model_copy(update={"telegram_webhook_secret": None})
    app = FastAPI()
    app.include_router(create_telegram_webhook_router(BotService(settings, backend)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
        update = fake.make_text_update(502, "/start")
        response = await http.post(PATH, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": ""})
    assert response.status_code == 401
    assert fake.calls == []


async def test_set_webhook_registers_url_and_secret(service: BotService, fake: FakeTelegram) -> None:
    await service.set_webhook("https://agent.example.com/api/v1/webhooks/telegram")
    assert fake.webhook_url == "https://agent.example.com/api/v1/webhooks/telegram"
    assert fake.webhook_secret == SECRET
    await service.delete_webhook()
    assert fake.webhook_url is None


async def test_polling_removes_a_webhook_first(fake: FakeTelegram, backend: InMemoryBotBackend) -> None:
    fake.webhook_url = "https://old.example.com/hook"  # getUpdates answers 409 while this is set
    service = BotService(make_settings(fake), backend, poll_timeout=1)
    stop = asyncio.Event()
    task = asyncio.create_task(service.run_polling(stop))
    try:
        fake.push_text(503, "/help")
        reply = await fake.await_call("sendMessage", to_chat(503))
        assert "not linked" in text_of(reply)
        assert fake.webhook_url is None
        assert fake.calls_to("setMyCommands")
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=15)


async def test_origin_editor_edits_with_its_own_client(fake: FakeTelegram, backend: InMemoryBotBackend) -> None:
    backend.links[504] = USER
    working = fake.handle(fake.token, "sendMessage", {"chat_id": 504, "text": "Working on it"}, {})
    run = await backend.create_run(USER.user_id, "copywriting", "Homepage", 504, working["message_id"])
    finished = backend.complete_run(run.run_id, title="Homepage", content="Copy")
    await origin_editor(make_settings(fake))(finished)
    edit = fake.calls_to("editMessageText")[-1]
    assert text_of(edit).startswith("✅ Homepage")


async def test_polling_waits_for_an_unreachable_api(fake: FakeTelegram, backend: InMemoryBotBackend) -> None:
    fake.fail_next["getMe"] = (502, "Bad Gateway")
    service = BotService(make_settings(fake), backend, poll_timeout=1)
    service.startup_retry_delay = 0.1
    stop = asyncio.Event()
    task = asyncio.create_task(service.run_polling(stop))
    try:
        fake.push_text(505, "/start")
        await fake.await_call("sendMessage", to_chat(505))
        assert len(fake.calls_to("getMe")) == 2
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=15)


async def test_a_rejected_token_is_a_configuration_error(fake: FakeTelegram, backend: InMemoryBotBackend) -> None:
    settings = make_settings(fake).model_copy(update={"telegram_bot_token": SecretStr("42:wrong")})
    with pytest.raises(ConfigError, match="rejected TELEGRAM_BOT_TOKEN"):
        await asyncio.wait_for(BotService(settings, backend).run_polling(), timeout=15)
