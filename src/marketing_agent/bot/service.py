"""The bot as one object: a python-telegram-bot ``Application`` wired to a backend.

Two ways to receive updates:

- long polling (``marketing-agent bot``): :meth:`BotService.run_polling` until stopped;
- webhook (``POST /api/v1/webhooks/telegram`` in the API process): :meth:`BotService.process_update`
  for each update that passed the secret check (``bot/webhook.py``).

``TELEGRAM_API_BASE_URL`` is honoured: requests go to ``{origin}/bot{token}/{method}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from telegram import Bot, BotCommand, Update
from telegram.error import InvalidToken, NetworkError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from marketing_agent.bot._client import api_origin, bot_token, telegram_bot
from marketing_agent.bot.backend import BotBackend
from marketing_agent.bot.handlers import BotHandlers, on_error
from marketing_agent.errors import ConfigError
from marketing_agent.settings import Settings

logger = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query"]

COMMANDS = [
    BotCommand("skills", "Browse the skills"),
    BotCommand("run", "Run a skill: /run skill message"),
    BotCommand("status", "Your recent runs"),
    BotCommand("link", "Link this chat: /link API_KEY"),
    BotCommand("unlink", "Disconnect this chat"),
    BotCommand("help", "What I can do"),
]


def build_application(
    settings: Settings, backend: BotBackend, *, poll_timeout: int = 30
) -> Application[Any, Any, Any, Any, Any, Any]:
    origin = api_origin(settings)
    handlers = BotHandlers(backend)
    application = (
        ApplicationBuilder()
        .token(bot_token(settings))
        .base_url(f"{origin}/bot")
        .base_file_url(f"{origin}/file/bot")
        # A getUpdates call waits up to poll_timeout seconds on the server: read for longer than that.
        .get_updates_read_timeout(poll_timeout + 10)
        .build()
    )
    # New messages only: editing an old "/run …" must not start a second run.
    new = filters.UpdateType.MESSAGE
    commands = {
        "start": handlers.start,
        "help": handlers.help,
        "link": handlers.link,
        "unlink": handlers.unlink,
        "skills": handlers.skills,
        "status": handlers.status,
        "run": handlers.run,
    }
    for name, callback in commands.items():
        application.add_handler(CommandHandler(name, callback, filters=new))
    application.add_handler(CallbackQueryHandler(handlers.button))
    # Free text and unknown commands only in private chats: in a group they are mostly meant for people
    # (or other bots), and answering each one would flood the group.
    private = new & filters.ChatType.PRIVATE
    application.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND, handlers.free_text))
    application.add_handler(MessageHandler(private & filters.COMMAND, handlers.skill_command))
    application.add_error_handler(on_error)
    return application


class BotService:
    """Owns the Application's lifecycle. ``async with BotService(...)`` initializes it (one ``getMe``)."""

    def __init__(self, settings: Settings, backend: BotBackend, *, poll_timeout: int = 30) -> None:
        self.settings = settings
        self.backend = backend
        self.poll_timeout = poll_timeout
        self.application = build_application(settings, backend, poll_timeout=poll_timeout)
        self._started = False
        self._lock = asyncio.Lock()
        self.startup_retry_delay = 2.0

    @property
    def bot(self) -> Bot:
        bot: Bot = self.application.bot
        return bot

    @property
    def webhook_secret(self) -> str | None:
        secret = self.settings.telegram_webhook_secret
        return secret.get_secret_value() if secret is not None else None

    async def start(self) -> None:
        # Webhook requests can arrive together before the first one finished starting the bot.
        async with self._lock:
            if self._started:
                return
            try:
                await self.application.initialize()
            except InvalidToken as exc:
                raise ConfigError("Telegram rejected TELEGRAM_BOT_TOKEN") from exc
            await self.application.start()
            self._started = True

    async def _start_when_reachable(self, stop: asyncio.Event) -> bool:
        """Start, retrying while the Bot API is unreachable (so `up` survives a network outage at boot).
        False when ``stop`` was set first."""
        delay = self.startup_retry_delay
        while not stop.is_set():
            try:
                await self.start()
                return True
            except NetworkError as exc:
                logger.warning("telegram unreachable (%s); retrying in %.0fs", exc.message, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
            delay = min(delay * 2, 60.0)
        return False

    async def stop(self) -> None:
        if not self._started:
            return
        if self.application.updater is not None and self.application.updater.running:
            await self.application.updater.stop()
        await self.application.stop()
        await self.application.shutdown()
        self._started = False

    async def __aenter__(self) -> BotService:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def process_update(self, payload: dict[str, Any]) -> None:
        """Handle one update posted to the webhook (already authenticated by the router)."""
        await self.start()
        update = Update.de_json(payload, self.bot)
        await self.application.process_update(update)

    async def run_polling(self, stop: asyncio.Event | None = None) -> None:
        """Long polling until ``stop`` is set (or the task is cancelled). Removes a webhook first:
        Telegram refuses getUpdates while one is set."""
        stop = stop or asyncio.Event()
        if not await self._start_when_reachable(stop):
            return
        try:
            await self.bot.set_my_commands(COMMANDS)
            updater = self.application.updater
            if updater is None:  # pragma: no cover - build_application always makes one
                raise ConfigError("the bot was built without an updater")
            # Network errors while polling are retried by python-telegram-bot itself, with backoff.
            await updater.start_polling(
                poll_interval=0.0,
                timeout=self.poll_timeout,
                drop_pending_updates=False,
                allowed_updates=ALLOWED_UPDATES,
            )
            logger.info("telegram bot polling", extra={"api": api_origin(self.settings)})
            await stop.wait()
        finally:
            await self.stop()

    async def set_webhook(self, url: str) -> None:
        """Point Telegram at ``url`` (…/api/v1/webhooks/telegram) with the configured secret."""
        secret = self.webhook_secret
        if not secret:
            raise ConfigError("TELEGRAM_WEBHOOK_SECRET must be set before using a webhook")
        async with telegram_bot(self.settings) as bot:
            await bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)

    async def delete_webhook(self) -> None:
        async with telegram_bot(self.settings) as bot:
            await bot.delete_webhook()
