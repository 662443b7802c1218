"""A bare Bot API client built from the settings (``TELEGRAM_API_BASE_URL`` honoured)."""

from __future__ import annotations

from telegram import Bot

from marketing_agent.errors import ConfigError
from marketing_agent.notify.redact import install_token_redaction
from marketing_agent.settings import Settings


def bot_token(settings: Settings) -> str:
    token = settings.telegram_bot_token.get_secret_value().strip() if settings.telegram_bot_token else ""
    if not token:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set: the Telegram bot is off")
    install_token_redaction()  # every path that uses the token passes here first
    return token


def api_origin(settings: Settings) -> str:
    return settings.telegram_api_base_url.rstrip("/")


def telegram_bot(settings: Settings) -> Bot:
    """A Bot with no handlers, for senders outside the bot process (the durable functions editing a
    result message). Use it as ``async with telegram_bot(settings) as bot``."""
    origin = api_origin(settings)
    return Bot(bot_token(settings), base_url=f"{origin}/bot", base_file_url=f"{origin}/file/bot")
