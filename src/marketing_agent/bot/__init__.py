"""The Telegram bot: link a chat, browse skills, run one, get the output, rate it."""

from marketing_agent.bot._client import telegram_bot
from marketing_agent.bot.backend import (
    BotBackend,
    CreatedRun,
    DetectedSkill,
    LinkedUser,
    OutputContent,
    RunSummary,
    SkillSummary,
)
from marketing_agent.bot.cli import bot_cli, run_bot
from marketing_agent.bot.memory import InMemoryBotBackend
from marketing_agent.bot.results import FinishedRun, notify_run_finished, origin_editor
from marketing_agent.bot.service import BotService, build_application
from marketing_agent.bot.webhook import create_telegram_webhook_router

__all__ = [
    "BotBackend",
    "BotService",
    "CreatedRun",
    "DetectedSkill",
    "FinishedRun",
    "InMemoryBotBackend",
    "LinkedUser",
    "OutputContent",
    "RunSummary",
    "SkillSummary",
    "bot_cli",
    "build_application",
    "create_telegram_webhook_router",
    "notify_run_finished",
    "origin_editor",
    "run_bot",
    "telegram_bot",
]
