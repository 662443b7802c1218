"""No message to a stranger: an e-mail address gets nothing but its confirmation code until confirmed."""

from __future__ import annotations

import re
from email import message_from_bytes

from pydantic import SecretStr

from integration.notify.conftest import Mailbox, smtp_server
from marketing_agent.services import list_user_channels, resolve_user_by_api_key
from support.api_harness import Api

__all__ = ["smtp_server"]  # the fixture, used by name


def _code(box: Mailbox) -> str:
    [envelope] = box.messages
    raw = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
    text = "".join(
        part.get_payload(decode=True).decode() for part in message_from_bytes(raw).walk()
        if part.get_content_type() == "text/plain"
    )  # fmt: skip
    found = re.search(r"Your code: (\S+)", text)
    assert found, text
    return found.group(1)


async def test_an_address_is_confirmed_before_it_receives_anything(api: Api, smtp_server: Mailbox) -> None:
    settings = api.app.state.context.settings
    settings.smtp_url = SecretStr(f"smtp://mailer:p%40ss@{smtp_server.host}:{smtp_server.port}")
    made = await api.http.post(
        "/api/v1/me/channels", json={"channel": "email", "address": "victim@example.com"}, headers=api.auth()
    )
    assert made.status_code == 201, made.text
    channel = made.json()["data"]
    assert channel["enabled"] is False
    assert channel["secret"] is None  # the code goes to the mailbox, never to the API caller
    assert [m.rcpt_tos for m in smtp_server.messages] == [["victim@example.com"]]
    code = _code(smtp_server)
    assert code not in made.text
    user = await resolve_user_by_api_key(api.database, api.key)
    assert await list_user_channels(api.database, user.id) == []  # notifications skip it until confirmed

    verify = f"/api/v1/me/channels/{channel['id']}/verify"
    wrong = await api.http.post(verify, json={"code": "guess-1234"}, headers=api.auth())
    assert wrong.status_code == 422
    other = await api.http.post(verify, json={"code": code}, headers=api.auth(api.other_key))
    assert other.status_code == 404  # another user cannot confirm it either
    ok = await api.http.post(verify, json={"code": code}, headers=api.auth())
    assert ok.status_code == 200
    assert ok.json()["data"]["enabled"] is True
    [enabled] = await list_user_channels(api.database, user.id)
    assert enabled.address == "victim@example.com"
    assert enabled.secret is None  # the code works once


async def test_without_smtp_no_email_channel_is_added(api: Api) -> None:
    made = await api.http.post(
        "/api/v1/me/channels", json={"channel": "email", "address": "ada@example.com"}, headers=api.auth()
    )
    assert made.status_code == 422
    assert "SMTP_URL" in made.json()["error"]["message"]
    listing = await api.http.get("/api/v1/me/channels", headers=api.auth())
    assert listing.json()["data"]["total"] == 0
