"""``marketing-agent bot``: run the bot with long polling, or manage its webhook.

The project CLI mounts :data:`bot_cli` (``app.add_typer(bot_cli, name="bot")``); ``up`` calls
:func:`run_bot` as one of its tasks when ``TELEGRAM_BOT_TOKEN`` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Coroutine
from typing import Any

import typer

from marketing_agent.bot.backend import BotBackend
from marketing_agent.bot.service import BotService
from marketing_agent.errors import MarketingAgentError
from marketing_agent.settings import Settings, load_settings

logger = logging.getLogger(__name__)

bot_cli = typer.Typer(help="The Telegram bot.", invoke_without_command=True, no_args_is_help=False)


async def run_bot(settings: Settings, backend: BotBackend | None = None, stop: asyncio.Event | None = None) -> None:
    """Long-poll until ``stop`` is set or the task is cancelled. Without a backend, one over the
    services (app database, storage, event API) is opened from the settings and closed at the end."""
    if backend is not None:
        await BotService(settings, backend).run_polling(stop)
        return
    from marketing_agent.bot.services_backend import ServicesBotBackend

    async with ServicesBotBackend.open(settings) as services_backend:
        await BotService(settings, services_backend).run_polling(stop)


async def _run_until_signal(settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(sig, stop.set)
    await run_bot(settings, stop=stop)


def _run(work: Coroutine[Any, Any, None]) -> None:
    """Run one command; a configuration or service error is a one-line message and exit status 1."""
    try:
        asyncio.run(work)
    except MarketingAgentError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None


@bot_cli.callback()
def bot(ctx: typer.Context) -> None:
    """Run the bot with long polling (default), or use a subcommand for webhook mode."""
    if ctx.invoked_subcommand is None:
        # A no-op when the project CLI already configured logging.
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        _run(_run_until_signal(load_settings()))


@bot_cli.command("set-webhook")
def set_webhook(url: str = typer.Argument(..., help="Public URL of POST /api/v1/webhooks/telegram")) -> None:
    """Switch to webhook mode: Telegram posts updates to URL with TELEGRAM_WEBHOOK_SECRET."""
    _run(_webhook_call("set", url))
    typer.echo("webhook set")


@bot_cli.command("delete-webhook")
def delete_webhook() -> None:
    """Back to long polling (``marketing-agent bot`` also does this when it starts)."""
    _run(_webhook_call("delete"))
    typer.echo("webhook deleted")


async def _webhook_call(action: str, url: str = "") -> None:
    from marketing_agent.bot.memory import InMemoryBotBackend

    # Built inside the coroutine so a missing token is reported by _run. Webhook management only talks
    # to the Bot API; no backend is consulted.
    service = BotService(load_settings(), InMemoryBotBackend())
    if action == "set":
        await service.set_webhook(url)
    else:
        await service.delete_webhook()
