"""The bot's commands and buttons. Each handler asks the backend, then answers in the chat.

Every handler first checks that the chat is linked; an unlinked chat gets the link prompt and nothing
else (only /start, /help and /link work there).
"""

from __future__ import annotations

import logging

from telegram import (
    CallbackQuery,
    ForceReply,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from marketing_agent.agent.detect import explicit_skill
from marketing_agent.bot import browse, callbacks, texts
from marketing_agent.bot.backend import BotBackend, LinkedUser, SkillSummary
from marketing_agent.bot.results import result_keyboard
from marketing_agent.errors import MarketingAgentError
from marketing_agent.notify.telegram_format import (
    CAPTION_LIMIT,
    MESSAGE_LIMIT,
    truncate,
    utf16_len,
    visible_length,
)

logger = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
#: How many skills free text offers as buttons when none is confident.
OFFERED_SKILLS = 3


async def reply_html(message: Message, text: str, markup: InlineKeyboardMarkup | None = None) -> Message:
    """Reply in HTML. Callers build texts that fit one message; this is the safety net."""
    if visible_length(text) > MESSAGE_LIMIT:  # pragma: no cover - our texts are truncated before this
        raise ValueError("reply longer than one Telegram message")
    return await message.reply_html(text, reply_markup=markup, do_quote=False)


class BotHandlers:
    def __init__(self, backend: BotBackend) -> None:
        self.backend = backend

    # --- helpers ------------------------------------------------------------------------------------
    async def _linked_user(self, update: Update) -> LinkedUser | None:
        """The chat's user, or None after telling the chat how to link."""
        chat = update.effective_chat
        if chat is None:
            return None
        user = await self.backend.user_for_chat(chat.id)
        if user is not None:
            return user
        if update.callback_query is not None:
            await update.callback_query.answer("Link this chat first: /link YOUR_API_KEY", show_alert=True)
        elif update.effective_message is not None:
            await reply_html(update.effective_message, texts.LINK_PROMPT)
        return None

    # --- commands -----------------------------------------------------------------------------------
    async def start(self, update: Update, context: Context) -> None:
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None:
            return
        user = await self.backend.user_for_chat(chat.id)
        follow_up = texts.HELP if user is not None else texts.LINK_PROMPT
        await reply_html(message, f"{texts.INTRO}\n\n{follow_up}")

    async def help(self, update: Update, context: Context) -> None:
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None:
            return
        user = await self.backend.user_for_chat(chat.id)
        await reply_html(message, texts.HELP if user is not None else texts.LINK_PROMPT)

    async def link(self, update: Update, context: Context) -> None:
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None:
            return
        api_key = " ".join(context.args or []).strip()
        if chat.type != ChatType.PRIVATE:
            # In a group every member would read the key and get the results; only a private chat links.
            if api_key:
                await _delete(message)
            await context.bot.send_message(chat.id, texts.LINK_PRIVATE_ONLY, parse_mode=ParseMode.HTML)
            return
        if not api_key:
            await reply_html(message, texts.LINK_USAGE)
            return
        user = await self.backend.link_chat(chat.id, api_key)
        # The key must not stay in the chat history, whether it worked or not (a typo is still close
        # to a real key).
        deleted = await _delete(message)
        text = texts.linked(user) if user is not None else texts.LINK_FAILED
        if not deleted:
            text += "\n\n" + texts.KEY_NOT_DELETED
        await context.bot.send_message(chat.id, text, parse_mode=ParseMode.HTML)
        logger.info("telegram chat link attempt", extra={"chat_id": chat.id, "linked": user is not None})

    async def unlink(self, update: Update, context: Context) -> None:
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None or await self._linked_user(update) is None:
            return
        await self.backend.unlink_chat(chat.id)
        await reply_html(message, texts.UNLINKED)

    async def skills(self, update: Update, context: Context) -> None:
        message = update.effective_message
        if message is None or await self._linked_user(update) is None:
            return
        groups = browse.group_skills(await self.backend.list_skills())
        await reply_html(message, texts.skill_categories(groups), browse.categories_keyboard(groups))

    async def status(self, update: Update, context: Context) -> None:
        message = update.effective_message
        user = await self._linked_user(update)
        if message is None or user is None:
            return
        runs = await self.backend.recent_runs(user.user_id, 5)
        await reply_html(message, texts.status(runs))

    async def run(self, update: Update, context: Context) -> None:
        message = update.effective_message
        user = await self._linked_user(update)
        if message is None or user is None:
            return
        args = context.args or []
        if len(args) < 2:
            await reply_html(message, texts.RUN_USAGE)
            return
        skill = args[0]
        # Keep the user's own line breaks: take the text after the skill name, not the split args.
        text = message.text or ""
        request = text.split(maxsplit=2)[2] if len(text.split(maxsplit=2)) == 3 else " ".join(args[1:])
        working = await message.reply_html(texts.working(skill), do_quote=True)
        await self._start_run(user, skill, request, working)

    async def free_text(self, update: Update, context: Context) -> None:
        """Free text: a confident skill runs at once; otherwise the top three are offered as buttons.

        A reply to the bot's "what should change?" question is the notes of a workflow stage's revision.
        """
        message = update.effective_message
        user = await self._linked_user(update)
        if message is None or user is None or not message.text:
            return
        asked = message.reply_to_message
        revision = callbacks.revision_ref(asked.text or "") if asked is not None else None
        if revision is not None:
            await self._revise(message, user, *revision)
            return
        detected = await self.backend.detect_skill(user.user_id, message.text)
        if detected.skill is not None:
            working = await message.reply_html(texts.working(detected.skill), do_quote=True)
            await self._start_run(user, detected.skill, detected.request, working, detected.client_id)
            return
        if not detected.candidates:
            await reply_html(message, texts.NO_SUGGESTION)
            return
        buttons = [
            [InlineKeyboardButton(name, callback_data=callbacks.free_text_run(name))]
            for name in detected.candidates[:OFFERED_SKILLS]
        ]
        # Sent as a reply: the button press brings the user's message back, so nothing is stored here.
        await message.reply_html(texts.CHOOSE_SKILL, reply_markup=InlineKeyboardMarkup(buttons), do_quote=True)

    async def skill_command(self, update: Update, context: Context) -> None:
        """Another command in a private chat: ``/skill-name message`` runs that skill (the explicit form
        of free text); any other command gets the help."""
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None or not message.text:
            return
        user = await self.backend.user_for_chat(chat.id)
        if user is not None:
            names = [skill.name for skill in await self.backend.list_skills()]
            explicit = explicit_skill(message.text, names)
            if explicit is not None:
                if explicit.request == message.text.strip():  # the skill's name and nothing to do
                    await reply_html(message, texts.RUN_USAGE)
                    return
                working = await message.reply_html(texts.working(explicit.skill), do_quote=True)
                await self._start_run(user, explicit.skill, explicit.request, working)
                return
        await self.help(update, context)

    async def _start_run(
        self, user: LinkedUser, skill: str, request: str, working: Message, client_id: str | None = None
    ) -> None:
        try:
            await self.backend.create_run(
                user.user_id, skill, request, working.chat_id, working.message_id, client_id=client_id
            )
        except MarketingAgentError as exc:
            await working.edit_text(texts.run_refused(skill, exc.message), parse_mode=ParseMode.HTML)
            return
        except Exception:
            # Never leave "working on it" standing for a run that does not exist.
            logger.exception("run could not be created from telegram")
            await working.edit_text(texts.run_refused(skill, texts.INTERNAL_ERROR), parse_mode=ParseMode.HTML)
            return
        logger.info("run started from telegram", extra={"chat_id": working.chat_id, "skill": skill})

    # --- buttons ------------------------------------------------------------------------------------
    async def button(self, update: Update, context: Context) -> None:
        query = update.callback_query
        if query is None:
            return
        parsed = callbacks.parse(query.data or "")
        if parsed is None or parsed.action == callbacks.NOOP:
            await query.answer()
            return
        user = await self._linked_user(update)
        if user is None:
            return
        try:
            if parsed.action == callbacks.SKILL_CATEGORIES and parsed.value:
                await self._category_page(query, parsed.value, parsed.page)
            elif parsed.action in (callbacks.SKILL_CATEGORIES, "sp"):  # "sp": a page of the old flat list
                await self._categories(query)
            elif parsed.action == "sk":
                await self._skill_detail(query, parsed.value)
            elif parsed.action == "fr":
                await self._free_text_run(query, user, parsed.value)
            elif parsed.action == "o":
                await self._full_output(query, user, parsed.value)
            elif parsed.action == "rt":
                await self._rate(query, user, parsed.value, parsed.score)
            elif parsed.action == callbacks.STAGE_REVIEW:
                await self._review(query, user, parsed.value, parsed.score, parsed.decision)
        except MarketingAgentError as exc:
            await query.answer(exc.message[:200], show_alert=True)

    async def _categories(self, query: CallbackQuery) -> None:
        groups = browse.group_skills(await self.backend.list_skills())
        await query.answer()
        await query.edit_message_text(
            texts.skill_categories(groups), parse_mode=ParseMode.HTML, reply_markup=browse.categories_keyboard(groups)
        )

    async def _category_page(self, query: CallbackQuery, key: str, page: int) -> None:
        group = browse.find_group(browse.group_skills(await self.backend.list_skills()), key)
        if group is None:  # its last skill was removed since the button was sent
            await self._categories(query)
            return
        page = group.clamp(page)
        await query.answer()
        await query.edit_message_text(
            texts.skill_category_page(group, page),
            parse_mode=ParseMode.HTML,
            reply_markup=browse.category_keyboard(group, page),
        )

    async def _skill(self, token: str) -> SkillSummary | None:
        skills = list(await self.backend.list_skills())
        name = callbacks.resolve_skill_token(token, [s.name for s in skills])
        return next((s for s in skills if s.name == name), None)

    async def _skill_detail(self, query: CallbackQuery, token: str) -> None:
        skill = await self._skill(token)
        if skill is None:
            await query.answer("That skill is no longer available.", show_alert=True)
            return
        await query.answer()
        if isinstance(query.message, Message):
            await reply_html(query.message, texts.skill_detail(skill))

    async def _free_text_run(self, query: CallbackQuery, user: LinkedUser, token: str) -> None:
        question = query.message
        skill = await self._skill(token)
        if skill is None or not isinstance(question, Message):
            await query.answer("That skill is no longer available.", show_alert=True)
            return
        original = question.reply_to_message
        if original is None or not original.text:
            await query.answer()
            await question.edit_text(texts.ORIGINAL_GONE)
            return
        await query.answer()
        # The question itself becomes the "working on it" message that the result will replace.
        working = await question.edit_text(texts.working(skill.name), parse_mode=ParseMode.HTML)
        if isinstance(working, Message):
            # The user chose the skill; the text still names the client (keywords only: no model call).
            detected = await self.backend.detect_skill(user.user_id, original.text, use_model=False)
            await self._start_run(user, skill.name, detected.request, working, detected.client_id)

    async def _review(
        self, query: CallbackQuery, user: LinkedUser, workflow_run_id: str, position: int, decision: str
    ) -> None:
        """Approve / Reject act at once; Revise asks for the notes, which come back as a reply (stateless)."""
        if decision == "revise":
            await query.answer()
            if isinstance(query.message, Message):
                await query.message.reply_text(
                    texts.revision_question(callbacks.revision_marker(workflow_run_id, position)),
                    reply_markup=ForceReply(selective=True, input_field_placeholder="What should change?"),
                )
            return
        stage = await self.backend.review_stage(user.user_id, workflow_run_id, position, decision)
        await query.answer(texts.reviewed(stage, decision))
        if isinstance(query.message, Message):
            await query.message.edit_reply_markup(
                InlineKeyboardMarkup(
                    [[InlineKeyboardButton(texts.reviewed(stage, decision), callback_data=callbacks.NOOP)]]
                )
            )

    async def _revise(self, message: Message, user: LinkedUser, workflow_run_id: str, position: int) -> None:
        notes = (message.text or "").strip()
        try:
            stage = await self.backend.review_stage(user.user_id, workflow_run_id, position, "revise", notes)
        except MarketingAgentError as exc:
            await reply_html(message, texts.review_refused(exc.message))
            return
        await reply_html(message, texts.reviewed(stage, "revise"))

    async def _full_output(self, query: CallbackQuery, user: LinkedUser, run_id: str) -> None:
        output = await self.backend.get_output(user.user_id, run_id)
        await query.answer()
        chat_id = query.message.chat.id if query.message else None
        if chat_id is None:
            return
        bot = query.get_bot()
        content = output.content.strip()
        if not content:
            await bot.send_message(chat_id, texts.EMPTY_OUTPUT)
        elif utf16_len(content) <= MESSAGE_LIMIT:
            # Plain text, no parse mode: the markdown arrives exactly as written, nothing to escape.
            await bot.send_message(chat_id, content)
        else:
            # Too long for one message: a .md file keeps it whole (and readable in any editor).
            document = InputFile(output.content.encode("utf-8"), filename=output.filename)
            caption = truncate(output.title, CAPTION_LIMIT) if output.title else None
            await bot.send_document(chat_id, document, caption=caption)

    async def _rate(self, query: CallbackQuery, user: LinkedUser, output_id: str, score: int) -> None:
        await self.backend.record_feedback(user.user_id, output_id, score)
        await query.answer(f"Thanks — rated {score}/5")
        markup = query.message.reply_markup if isinstance(query.message, Message) else None
        run_id = _run_id_of(markup)
        if run_id is not None:
            try:
                await query.edit_message_reply_markup(result_keyboard(run_id, output_id, rated=score))
            except BadRequest as exc:
                logger.info("rating buttons not updated: %s", exc.message)


def _run_id_of(markup: InlineKeyboardMarkup | None) -> str | None:
    """The run id from the result message's "Full output" button (the rating buttons only carry the
    output id, and callback data has no room for both)."""
    for row in markup.inline_keyboard if markup else ():
        for button in row:
            parsed = callbacks.parse(str(button.callback_data or ""))
            if parsed is not None and parsed.action == "o":
                return parsed.value
    return None


async def _delete(message: Message) -> bool:
    try:
        return bool(await message.delete())
    except TelegramError as exc:
        # In groups the bot needs the right to delete messages; tell the user instead of failing.
        logger.warning("could not delete the /link message: %s", exc.message)
        return False


async def on_error(update: object, context: Context) -> None:
    """Last resort: log the bug, tell the chat something went wrong (never the exception's text)."""
    logger.error("bot handler failed", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await context.bot.send_message(update.effective_chat.id, texts.INTERNAL_ERROR)
        except TelegramError:
            logger.warning("could not report the failure to the chat")
