"""A finished run, in the chat that asked for it: the "working on it" message becomes the result.

The durable functions call :func:`notify_run_finished` (through their notifications adapter) when a run
started from Telegram completes or fails; the bot's own buttons then serve the full output and ratings.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, RetryAfter, TelegramError

from marketing_agent.bot import callbacks
from marketing_agent.bot._client import telegram_bot
from marketing_agent.errors import NotificationError, NotificationRejected
from marketing_agent.notify.telegram_format import escape_html, truncate
from marketing_agent.settings import Settings

logger = logging.getLogger(__name__)

# Telegram counts 4,096 characters after parsing the markup, so escaping does not count against it;
# 3,000 for the preview leaves room for the title (200), skill name and prompt.
PREVIEW_LIMIT = 3000


class FinishedRun(Protocol):
    """What the result message needs. The functions' ``RunNotice`` has exactly these attributes."""

    @property
    def run_id(self) -> str: ...
    @property
    def skill_name(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def title(self) -> str | None: ...
    @property
    def preview(self) -> str | None: ...
    @property
    def output_id(self) -> str | None: ...
    @property
    def error(self) -> str | None: ...
    @property
    def telegram_chat_id(self) -> str | None: ...
    @property
    def telegram_message_id(self) -> int | None: ...


def result_keyboard(run_id: str, output_id: str, rated: int | None = None) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton("📄 Full output", callback_data=callbacks.full_output(run_id))]]
    if rated is None:
        rows.append([InlineKeyboardButton(f"{n}★", callback_data=callbacks.rating(output_id, n)) for n in range(1, 6)])
    else:
        rows.append([InlineKeyboardButton(f"You rated {rated}/5 — thanks", callback_data=callbacks.NOOP)])
    return InlineKeyboardMarkup(rows)


def completed_text(run: FinishedRun) -> str:
    title = escape_html(truncate(run.title or run.skill_name, 200))
    preview = escape_html(truncate((run.preview or "").strip(), PREVIEW_LIMIT))
    text = f"✅ <b>{title}</b>\n<i>{escape_html(run.skill_name)}</i>"
    if preview:
        text += f"\n\n{preview}"
    return text + "\n\nRate this output:"


def failed_text(run: FinishedRun) -> str:
    reason = escape_html(truncate(run.error or "unknown error", 1500))
    return f"❌ <b>{escape_html(run.skill_name)}</b> failed.\nReason: {reason}"


async def notify_run_finished(bot: Bot, run: FinishedRun) -> None:
    """Edit the run's "working on it" message into its result (or failure).

    If that message is gone (the user deleted it), the result is sent as a new message. Raises
    ``NotificationError`` when retrying may help and ``NotificationRejected`` when it cannot.
    """
    if run.telegram_chat_id is None or run.telegram_message_id is None:
        raise NotificationRejected("the run was not started from Telegram")
    if run.status == "completed" and run.output_id:
        text = completed_text(run)
        markup: InlineKeyboardMarkup | None = result_keyboard(run.run_id, run.output_id)
    else:
        text, markup = failed_text(run), None
    chat_id = int(run.telegram_chat_id)
    try:
        try:
            await bot.edit_message_text(
                text,
                chat_id=chat_id,
                message_id=run.telegram_message_id,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
            )
        except BadRequest as exc:
            if "not modified" in exc.message:
                return  # a retried step already edited it
            if "not found" not in exc.message:
                raise
            await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup)
    except TelegramError as exc:
        raise classify(exc) from exc
    logger.info("telegram result delivered", extra={"run_id": run.run_id, "status": run.status})


def classify(exc: TelegramError) -> NotificationError:
    """python-telegram-bot's errors in our two families."""
    if isinstance(exc, RetryAfter):
        return NotificationError(f"telegram rate limit: retry after {exc.retry_after}")
    # BadRequest is a NetworkError subclass in python-telegram-bot: test it before the generic case.
    if isinstance(exc, BadRequest | Forbidden | InvalidToken):
        return NotificationRejected(f"telegram refused: {exc.message}")
    return NotificationError(f"telegram: {exc.message}")


def origin_editor(settings: Settings) -> Callable[[FinishedRun], Awaitable[None]]:
    """``notify_run_finished`` with a Bot API client of its own, for processes that do not run the bot
    (the functions' ``telegram_origin_editor``). One short-lived client per call: results are rare."""

    async def edit(run: FinishedRun) -> None:
        try:
            async with telegram_bot(settings) as bot:
                await notify_run_finished(bot, run)
        except TelegramError as exc:  # from initialize/shutdown (getMe) rather than the edit itself
            raise classify(exc) from exc

    return edit
