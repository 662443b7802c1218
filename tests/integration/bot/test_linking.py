"""/link, /unlink and what an unlinked chat gets."""

from __future__ import annotations

from .conftest import API_KEY, USER, PollingBot, text_of, to_chat


async def test_link_links_the_chat_and_deletes_the_key_message(polling_bot: PollingBot) -> None:
    fake, backend = polling_bot.fake, polling_bot.backend
    update = fake.push_text(200, f"/link {API_KEY}")
    key_message_id = update["message"]["message_id"]

    deleted = await fake.await_call("deleteMessage")
    assert (deleted.params["chat_id"], deleted.params["message_id"]) == ("200", str(key_message_id))
    reply = await fake.await_call("sendMessage", to_chat(200))
    assert "Linked to marketer@example.com" in text_of(reply)
    assert backend.links[200] == USER
    # The key is gone from the chat and was never echoed back.
    assert all(API_KEY not in str(m.get("text")) for m in fake.chat_messages(200))
    assert all(API_KEY not in str(c.params.get("text", "")) for c in fake.calls if c.method != "getUpdates")


async def test_a_wrong_key_is_refused_and_still_deleted(polling_bot: PollingBot) -> None:
    fake, backend = polling_bot.fake, polling_bot.backend
    fake.push_text(201, "/link mak_not-a-real-key")
    reply = await fake.await_call("sendMessage", to_chat(201))
    assert "not valid" in text_of(reply)
    assert len(fake.calls_to("deleteMessage")) == 1
    assert fake.chat_messages(201) == [m for m in fake.chat_messages(201) if m["from"]["is_bot"]]
    assert 201 not in backend.links


async def test_link_without_a_key_shows_usage(polling_bot: PollingBot) -> None:
    polling_bot.fake.push_text(202, "/link")
    reply = await polling_bot.fake.await_call("sendMessage", to_chat(202))
    assert "Usage" in text_of(reply)
    assert polling_bot.fake.calls_to("deleteMessage") == []


async def test_when_the_key_message_cannot_be_deleted_the_user_is_told(polling_bot: PollingBot) -> None:
    fake = polling_bot.fake
    fake.fail_next["deleteMessage"] = (400, "Bad Request: message can't be deleted")
    fake.push_text(203, f"/link {API_KEY}")
    reply = await fake.await_call("sendMessage", to_chat(203))
    assert "please delete it yourself" in text_of(reply)
    assert polling_bot.backend.links[203] == USER


async def test_link_is_refused_in_a_group(polling_bot: PollingBot) -> None:
    """In a group every member would see the key and receive the results: only a private chat links."""
    fake = polling_bot.fake
    fake.push_text(-1001, f"/link {API_KEY}")  # the fake makes negative chat ids groups, as Telegram does
    reply = await fake.await_call("sendMessage", to_chat(-1001))
    assert "private chat" in text_of(reply)
    assert -1001 not in polling_bot.backend.links
    assert len(fake.calls_to("deleteMessage")) == 1  # the key is taken out of the group's history


async def test_unlink(polling_bot: PollingBot) -> None:
    fake, backend = polling_bot.fake, polling_bot.backend
    backend.links[203] = USER
    fake.push_text(203, "/unlink")
    reply = await fake.await_call("sendMessage", to_chat(203))
    assert "unlinked" in text_of(reply)
    assert 203 not in backend.links


async def test_an_unlinked_chat_gets_only_the_link_prompt(polling_bot: PollingBot) -> None:
    fake, backend = polling_bot.fake, polling_bot.backend
    for text in ("/skills", "/run copywriting Homepage", "/status", "write me a homepage", "/unlink"):
        fake.push_text(300, text)
    replies = await fake.await_calls("sendMessage", 5, to_chat(300))
    assert all("not linked" in text_of(call) for call in replies)
    assert all("reply_markup" not in call.params for call in replies)  # no skills, no buttons
    assert backend.runs == {}
    # A button pressed in an unlinked chat (an old message) is refused the same way.
    message = fake.chat_messages(300)[-1]
    fake.push_callback(300, message["message_id"], "sp:1")
    answer = await fake.await_call("answerCallbackQuery")
    assert "/link" in answer.params["text"]
    assert fake.calls_to("editMessageText") == []
