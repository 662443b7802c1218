"""A run from the chat: /run or free text → "working on it" → the result → full output → rating."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from marketing_agent.agent.skill import SkillCategory
from marketing_agent.bot import SkillSummary, notify_run_finished
from marketing_agent.bot.callbacks import MAX_BYTES
from marketing_agent.errors import NotificationRejected
from support.fake_telegram import ApiCall, FakeTelegram

from .conftest import USER, PollingBot, eventually, text_of, to_chat

CHAT = 400


def _buttons(call: ApiCall) -> list[dict[str, Any]]:
    markup = call.params.get("reply_markup") or {}
    if isinstance(markup, str):
        markup = json.loads(markup)
    return [button for row in markup.get("inline_keyboard", []) for button in row]


async def _start_run(bot: PollingBot, text: str) -> tuple[str, int]:
    bot.backend.links[CHAT] = USER
    bot.fake.push_text(CHAT, text)
    working = await bot.fake.await_call("sendMessage", to_chat(CHAT))
    assert "Working on" in text_of(working)
    await eventually(lambda: bool(bot.backend.runs))
    [run] = bot.backend.runs.values()
    message_id = run.message_id
    assert bot.fake.messages[(CHAT, message_id)]["text"] == text_of(working)
    return run.run_id, message_id


async def test_full_run_with_rating(polling_bot: PollingBot) -> None:
    fake, backend = polling_bot.fake, polling_bot.backend
    run_id, message_id = await _start_run(polling_bot, "/run copywriting Homepage for a CRM\nTone: <bold> & brief")
    run = backend.runs[run_id]
    assert (run.skill, run.chat_id) == ("copywriting", CHAT)
    assert run.message == "Homepage for a CRM\nTone: <bold> & brief"  # line break and markup kept

    finished = backend.complete_run(
        run_id, title="CRM homepage <draft> & CTA", content="# Headline\n\nSell **more** with <less> effort."
    )
    await notify_run_finished(polling_bot.service.bot, finished)

    edit = fake.calls_to("editMessageText")[-1]
    assert edit.params["message_id"] == str(message_id)
    shown = text_of(edit)
    assert shown.startswith("✅ CRM homepage <draft> & CTA")
    assert "Sell **more** with <less> effort." in shown
    buttons = _buttons(edit)
    assert [b["text"] for b in buttons] == ["📄 Full output", "1★", "2★", "3★", "4★", "5★"]
    assert all(len(b["callback_data"].encode()) <= MAX_BYTES for b in buttons)

    # Full output: short, so a plain message with the markdown exactly as written.
    fake.push_callback(CHAT, message_id, buttons[0]["callback_data"])
    full = await fake.await_call("sendMessage", lambda c: to_chat(CHAT)(c) and "Headline" in c.params["text"])
    assert full.params["text"] == "# Headline\n\nSell **more** with <less> effort."
    assert "parse_mode" not in full.params

    # Rating 4: feedback recorded with source telegram and processed; the buttons say thanks.
    fake.push_callback(CHAT, message_id, buttons[4]["callback_data"])
    answer = await fake.await_call("answerCallbackQuery", lambda c: "rated" in str(c.params.get("text")))
    assert answer.params["text"] == "Thanks — rated 4/5"
    [feedback] = backend.feedback
    assert (feedback.user_id, feedback.output_id, feedback.score, feedback.source) == (
        USER.user_id,
        finished.output_id,
        4,
        "telegram",
    )
    assert backend.processed_feedback == [finished.output_id]
    markup = await fake.await_call("editMessageReplyMarkup")
    assert [b["text"] for b in _buttons(markup)] == ["📄 Full output", "You rated 4/5 — thanks"]


async def test_a_long_output_comes_as_a_markdown_document(polling_bot: PollingBot) -> None:
    fake, backend = polling_bot.fake, polling_bot.backend
    run_id, message_id = await _start_run(polling_bot, "/run seo-audit Audit example.com")
    content = "## Findings\n\n" + ("Fix the <title> & meta tags on every page. " * 120)[:4987]
    assert len(content) == 5000
    finished = backend.complete_run(run_id, title="SEO audit", content=content)
    await notify_run_finished(polling_bot.service.bot, finished)

    edit = fake.calls_to("editMessageText")[-1]
    assert len(text_of(edit)) <= 4096  # the preview was cut to fit (the fake refuses longer texts)
    fake.push_callback(CHAT, message_id, _buttons(edit)[0]["callback_data"])
    document = await fake.await_call("sendDocument")
    filename, data = document.files["document"]
    assert filename.endswith(".md")
    assert data.decode() == content
    assert document.params["caption"] == "SEO audit"


async def test_a_failed_run_is_reported_with_its_reason(polling_bot: PollingBot) -> None:
    fake, backend = polling_bot.fake, polling_bot.backend
    run_id, message_id = await _start_run(polling_bot, "/run positioning Our B2B analytics tool")
    await notify_run_finished(polling_bot.service.bot, backend.fail_run(run_id, "LLM answered 400: <bad> & request"))
    edit = fake.calls_to("editMessageText")[-1]
    assert edit.params["message_id"] == str(message_id)
    assert text_of(edit) == "❌ positioning failed.\nReason: LLM answered 400: <bad> & request"
    assert _buttons(edit) == []


async def test_an_unknown_skill_is_refused_in_the_working_message(polling_bot: PollingBot) -> None:
    polling_bot.backend.links[CHAT] = USER
    polling_bot.fake.push_text(CHAT, "/run nonsense do things")
    edit = await polling_bot.fake.await_call("editMessageText")
    assert text_of(edit) == "❌ Could not start nonsense: skill 'nonsense' not found"
    assert polling_bot.backend.runs == {}


async def test_run_without_a_message_shows_usage(polling_bot: PollingBot) -> None:
    polling_bot.backend.links[CHAT] = USER
    polling_bot.fake.push_text(CHAT, "/run copywriting")
    reply = await polling_bot.fake.await_call("sendMessage", to_chat(CHAT))
    assert text_of(reply).startswith("Usage: /run skill message")


async def test_free_text_naming_a_skill_clearly_runs_it_at_once(polling_bot: PollingBot) -> None:
    fake, backend = polling_bot.fake, polling_bot.backend
    backend.links[CHAT] = USER
    update = fake.push_text(CHAT, "Write a press release: we raised a seed round")
    working = await fake.await_call("sendMessage", to_chat(CHAT))
    assert "Working on press-release" in text_of(working)
    assert _buttons(working) == []
    await eventually(lambda: bool(backend.runs))
    [run] = backend.runs.values()
    assert (run.skill, run.message) == ("press-release", update["message"]["text"])
    assert run.message_id == fake.chat_messages(CHAT)[-1]["message_id"]


async def test_ambiguous_free_text_offers_three_skills_and_runs_the_chosen_one(polling_bot: PollingBot) -> None:
    fake, backend = polling_bot.fake, polling_bot.backend
    backend.links[CHAT] = USER
    # Copy, a launch and conversion all fit: no skill is confident.
    update = fake.push_text(CHAT, "copy for the launch page, we need more conversion")
    question = await fake.await_call("sendMessage", to_chat(CHAT))
    assert text_of(question) == "Which skill should handle this?"
    choices = _buttons(question)
    assert len(choices) == 3
    assert {c["text"] for c in choices} == {"copywriting", "launch-strategy", "page-cro"}
    assert backend.runs == {}
    question_id = fake.chat_messages(CHAT)[-1]["message_id"]

    chosen = next(c for c in choices if c["text"] == "page-cro")
    fake.push_callback(CHAT, question_id, chosen["callback_data"])
    working = await fake.await_call("editMessageText")
    assert "Working on page-cro" in text_of(working)
    await eventually(lambda: bool(backend.runs))
    [run] = backend.runs.values()
    assert run.message == update["message"]["text"]
    assert (run.skill, run.message_id) == ("page-cro", question_id)


async def test_free_text_with_no_likely_skill(polling_bot: PollingBot) -> None:
    polling_bot.backend.links[CHAT] = USER
    polling_bot.fake.push_text(CHAT, "zzz qqq")
    reply = await polling_bot.fake.await_call("sendMessage", to_chat(CHAT))
    assert "could not tell which skill fits" in text_of(reply)


async def test_skills_browse_by_category_then_eight_a_page(polling_bot: PollingBot) -> None:
    fake, backend = polling_bot.fake, polling_bot.backend
    backend.links[CHAT] = USER
    backend.skills += [
        SkillSummary(f"cro-extra-{i:02}", f"Extra conversion skill {i}.", (), SkillCategory.CRO) for i in range(9)
    ]
    fake.push_text(CHAT, "/skills")
    overview = await fake.await_call("sendMessage", to_chat(CHAT))
    assert text_of(overview).startswith("Skills — 16 in 6 categories")
    assert "CRO (10): cro-extra-00" in text_of(overview)
    assert [b["text"] for b in _buttons(overview)] == [
        "Copywriting · 1",
        "CRO · 10",
        "Email · 1",
        "SEO · 1",
        "Strategy · 2",
        "Other · 1",
    ]
    message_id = fake.chat_messages(CHAT)[-1]["message_id"]

    async def press(label: str, call: ApiCall) -> ApiCall:
        [data] = [b["callback_data"] for b in _buttons(call) if b["text"] == label]
        before = len(fake.calls_to("editMessageText"))
        fake.push_callback(CHAT, message_id, data)
        await eventually(lambda: len(fake.calls_to("editMessageText")) > before)
        edited = fake.calls_to("editMessageText")[-1]
        assert str(edited.params["message_id"]) == str(message_id)  # the one message changes, the chat does not fill
        return edited

    first = await press("CRO · 10", overview)
    assert text_of(first).startswith("CRO (1/2)")
    labels = [b["text"] for b in _buttons(first)]
    assert labels[:8] == [f"cro-extra-{i:02}" for i in range(8)]
    assert labels[8:] == ["Next ›", "« Categories"]

    second = await press("Next ›", first)
    assert text_of(second).startswith("CRO (2/2)")
    assert [b["text"] for b in _buttons(second)] == ["cro-extra-08", "page-cro", "‹ Previous", "« Categories"]

    [detail_data] = [b["callback_data"] for b in _buttons(second) if b["text"] == "page-cro"]
    fake.push_callback(CHAT, message_id, detail_data)
    detail = await fake.await_call("sendMessage", lambda c: to_chat(CHAT)(c) and "/run page-cro" in c.params["text"])
    assert "Improve a page's conversion rate." in text_of(detail)

    back = await press("« Categories", second)
    assert text_of(back) == text_of(overview)
    other = await press("Other · 1", back)
    assert text_of(other).startswith("Other (1/1)")
    assert [b["text"] for b in _buttons(other)] == ["press-release", "« Categories"]


async def test_a_stale_category_button_falls_back_to_what_exists(polling_bot: PollingBot) -> None:
    fake, backend = polling_bot.fake, polling_bot.backend
    backend.links[CHAT] = USER
    fake.push_text(CHAT, "/skills")
    await fake.await_call("sendMessage", to_chat(CHAT))
    message_id = fake.chat_messages(CHAT)[-1]["message_id"]
    fake.push_callback(CHAT, message_id, "sc:seo:7")  # past the last page
    page = await fake.await_call("editMessageText")
    assert text_of(page).startswith("SEO (1/1)")
    fake.push_callback(CHAT, message_id, "sc:ads:0")  # a category whose skills are gone
    await eventually(lambda: len(fake.calls_to("editMessageText")) == 2)
    assert text_of(fake.calls_to("editMessageText")[-1]).startswith("Skills — 7 in 6 categories")


async def test_status_lists_recent_runs(polling_bot: PollingBot) -> None:
    fake, backend = polling_bot.fake, polling_bot.backend
    run_id, _ = await _start_run(polling_bot, "/run press-release We raised a seed round")
    backend.complete_run(run_id, title="Seed round <announcement>", content="...")
    fake.push_text(CHAT, "/status")
    reply = await fake.await_call("sendMessage", lambda c: to_chat(CHAT)(c) and "Recent runs" in c.params["text"])
    assert "press-release — completed" in text_of(reply)
    assert "Seed round <announcement>" in text_of(reply)


async def test_result_is_sent_anew_when_the_working_message_is_gone(polling_bot: PollingBot) -> None:
    fake, backend = polling_bot.fake, polling_bot.backend
    run_id, message_id = await _start_run(polling_bot, "/run copywriting Pricing page")
    del fake.messages[(CHAT, message_id)]  # the user deleted it
    await notify_run_finished(polling_bot.service.bot, backend.complete_run(run_id, title="Pricing", content="x"))
    sent = fake.calls_to("sendMessage")[-1]
    assert text_of(sent).startswith("✅ Pricing")


async def test_a_blocked_chat_is_a_permanent_failure(fake: FakeTelegram, polling_bot: PollingBot) -> None:
    run_id, _ = await _start_run(polling_bot, "/run copywriting Pricing page")
    fake.fail_next["editMessageText"] = (403, "Forbidden: bot was blocked by the user")
    with pytest.raises(NotificationRejected):
        await notify_run_finished(
            polling_bot.service.bot, polling_bot.backend.complete_run(run_id, title="t", content="x")
        )


async def test_edited_commands_and_group_chatter_are_ignored(polling_bot: PollingBot) -> None:
    fake, backend = polling_bot.fake, polling_bot.backend
    backend.links[CHAT] = USER
    backend.links[-500] = USER
    edited = fake.make_text_update(CHAT, "/run copywriting Homepage")
    edited["edited_message"] = {**edited.pop("message"), "edit_date": 1}
    fake.push_update(edited)
    fake.push_text(-500, "write the homepage copy please")  # people talking in a group
    fake.push_text(-500, "/status")  # a command is still answered in a group
    reply = await fake.await_call("sendMessage", to_chat(-500))
    assert "Recent runs" in text_of(reply) or "No runs yet" in text_of(reply)
    assert backend.runs == {}
    assert [c for c in fake.calls if c.method == "sendMessage"] == [reply]


async def test_an_empty_output_is_said_plainly(polling_bot: PollingBot) -> None:
    fake, backend = polling_bot.fake, polling_bot.backend
    run_id, message_id = await _start_run(polling_bot, "/run copywriting Pricing page")
    await notify_run_finished(polling_bot.service.bot, backend.complete_run(run_id, title="Pricing", content=" "))
    fake.push_callback(CHAT, message_id, f"o:{run_id}")
    reply = await fake.await_call("sendMessage", lambda c: "empty" in str(c.params.get("text")))
    assert reply.params["text"] == "This run's output is empty."
    assert fake.calls_to("sendDocument") == []


async def test_a_preview_full_of_markup_characters_still_fits(polling_bot: PollingBot) -> None:
    fake, backend = polling_bot.fake, polling_bot.backend
    run_id, _ = await _start_run(polling_bot, "/run copywriting Pricing page")
    finished = backend.complete_run(run_id, title="<&>" * 100, content="x")
    finished = dataclasses.replace(finished, preview="<&>" * 3000)  # 27,000 characters once escaped
    await notify_run_finished(polling_bot.service.bot, finished)  # the fake refuses bad or long markup
    shown = text_of(fake.calls_to("editMessageText")[-1])
    assert shown.startswith("✅ <&><&>")
    assert len(shown) <= 4096


async def test_a_skill_name_as_a_command_runs_that_skill(polling_bot: PollingBot) -> None:
    fake, backend = polling_bot.fake, polling_bot.backend
    backend.links[CHAT] = USER
    fake.push_text(CHAT, "/seo-audit why did our blog lose half its clicks?")
    working = await fake.await_call("sendMessage", to_chat(CHAT))
    assert "Working on seo-audit" in text_of(working)
    await eventually(lambda: bool(backend.runs))
    [run] = backend.runs.values()
    assert (run.skill, run.message) == ("seo-audit", "why did our blog lose half its clicks?")


async def test_a_skill_command_without_a_message_or_an_unknown_command(polling_bot: PollingBot) -> None:
    fake, backend = polling_bot.fake, polling_bot.backend
    backend.links[CHAT] = USER
    fake.push_text(CHAT, "/seo-audit")
    usage = await fake.await_call("sendMessage", to_chat(CHAT))
    assert text_of(usage).startswith("Usage: /run skill message")
    fake.push_text(CHAT, "/nonsense do things")
    help_text = await fake.await_call("sendMessage", lambda c: to_chat(CHAT)(c) and "Commands" in text_of(c))
    assert "/skills" in text_of(help_text)
    assert backend.runs == {}
