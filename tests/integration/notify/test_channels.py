"""Each channel against a real local receiver."""

from __future__ import annotations

import email
import email.policy

import httpx
import pytest

from marketing_agent.errors import NotificationError, NotificationRejected
from marketing_agent.notify import ChannelAddress, ChannelKind, Notification, NotificationKind
from marketing_agent.notify.slack import SlackNotifier
from marketing_agent.notify.smtp import EmailNotifier, SmtpConfig
from marketing_agent.notify.telegram import TelegramNotifier
from marketing_agent.notify.webhook import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookNotifier,
    verify_signature,
)
from support.fake_telegram import FakeTelegram

from .conftest import HttpRecorder, Mailbox, TlsPair

MESSAGE = Notification(
    kind=NotificationKind.RUN_COMPLETED,
    title="Homepage copy <v2> & CTA",
    body="Headline: **Ship faster** <b>not bold</b> & friends",
    link="http://127.0.0.1:8000/api/v1/outputs/out_1/content",
    run_id="run_1",
    fields={"skill": "copywriting"},
)


async def test_telegram_sends_escaped_html_to_the_chat(fake_telegram: FakeTelegram) -> None:
    async with httpx.AsyncClient() as client:
        notifier = TelegramNotifier(client, token=fake_telegram.token, api_base_url=fake_telegram.origin)
        await notifier.send(MESSAGE, ChannelAddress(ChannelKind.TELEGRAM, "4242"))
    [call] = fake_telegram.calls_to("sendMessage")
    assert call.params["chat_id"] == "4242"
    assert call.params["parse_mode"] == "HTML"
    [stored] = fake_telegram.chat_messages(4242)
    assert stored["text"].startswith("Homepage copy <v2> & CTA")  # Telegram parsed our markup back
    assert "<b>not bold</b> & friends" in stored["text"]
    assert "Open the full output" in stored["text"]


@pytest.mark.parametrize(
    ("code", "description", "error"),
    [
        (403, "Forbidden: bot was blocked by the user", NotificationRejected),
        (400, "Bad Request: chat not found", NotificationRejected),
        (429, "Too Many Requests: retry after 3", NotificationError),
        (502, "Bad Gateway", NotificationError),
    ],
)
async def test_telegram_errors_are_classified(
    fake_telegram: FakeTelegram, code: int, description: str, error: type[NotificationError]
) -> None:
    fake_telegram.fail_next["sendMessage"] = (code, description)
    async with httpx.AsyncClient() as client:
        notifier = TelegramNotifier(client, token=fake_telegram.token, api_base_url=fake_telegram.origin)
        with pytest.raises(error) as raised:
            await notifier.send(MESSAGE, ChannelAddress(ChannelKind.TELEGRAM, "1"))
    assert type(raised.value) is error
    assert raised.value.retryable is (error is NotificationError)
    assert description in raised.value.message
    if code == 429:
        assert raised.value.details == {"status": 429, "retry_after": 3}


async def test_telegram_wrong_token_is_permanent_and_not_echoed(fake_telegram: FakeTelegram) -> None:
    async with httpx.AsyncClient() as client:
        notifier = TelegramNotifier(client, token="999:wrong-token", api_base_url=fake_telegram.origin)
        with pytest.raises(NotificationRejected) as raised:
            await notifier.send(MESSAGE, ChannelAddress(ChannelKind.TELEGRAM, "1"))
    assert "wrong-token" not in str(raised.value)


async def test_telegram_unreachable_server_is_retryable() -> None:
    async with httpx.AsyncClient() as client:
        notifier = TelegramNotifier(client, token="1:a", api_base_url="http://127.0.0.1:9")
        with pytest.raises(NotificationError) as raised:
            await notifier.send(MESSAGE, ChannelAddress(ChannelKind.TELEGRAM, "1"))
    assert raised.value.retryable


async def test_slack_posts_text_and_blocks(http_recorder: HttpRecorder) -> None:
    async with httpx.AsyncClient() as client:
        await SlackNotifier(client).send(MESSAGE, ChannelAddress(ChannelKind.SLACK, http_recorder.url + "/T/B/x"))
    [request] = http_recorder.received
    assert request.path == "/T/B/x"
    payload = request.json()
    assert payload["text"].startswith("Homepage copy &lt;v2&gt; &amp; CTA")
    assert payload["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": MESSAGE.title}}


@pytest.mark.parametrize(("status", "retryable"), [(404, False), (410, False), (429, True), (500, True)])
async def test_slack_failures(http_recorder: HttpRecorder, status: int, retryable: bool) -> None:
    http_recorder.status = status
    async with httpx.AsyncClient() as client:
        with pytest.raises(NotificationError) as raised:
            await SlackNotifier(client).send(MESSAGE, ChannelAddress(ChannelKind.SLACK, http_recorder.url))
    assert raised.value.retryable is retryable


async def test_webhook_is_signed_and_verifiable(http_recorder: HttpRecorder) -> None:
    address = ChannelAddress(ChannelKind.WEBHOOK, http_recorder.url + "/hook", secret="whsec_test")
    async with httpx.AsyncClient() as client:
        await WebhookNotifier(client).send(MESSAGE, address)
    [request] = http_recorder.received
    headers = {name.lower(): value for name, value in request.headers.items()}
    assert headers[SIGNATURE_HEADER.lower()].startswith("sha256=")
    assert verify_signature(
        "whsec_test", request.body, headers[TIMESTAMP_HEADER.lower()], headers[SIGNATURE_HEADER.lower()]
    )
    assert request.json()["runId"] == "run_1"


async def test_webhook_without_secret_is_sent_unsigned(http_recorder: HttpRecorder) -> None:
    async with httpx.AsyncClient() as client:
        await WebhookNotifier(client).send(MESSAGE, ChannelAddress(ChannelKind.WEBHOOK, http_recorder.url))
    headers = {name.lower() for name in http_recorder.received[0].headers}
    assert SIGNATURE_HEADER.lower() not in headers


async def test_email_is_delivered_over_smtp_with_auth(smtp_server: Mailbox) -> None:
    config = SmtpConfig.from_url(f"smtp://mailer:p%40ss@{smtp_server.host}:{smtp_server.port}")
    notifier = EmailNotifier(config, sender="agent@example.com")
    await notifier.send(MESSAGE, ChannelAddress(ChannelKind.EMAIL, "marketer@example.com"))
    [envelope] = smtp_server.messages
    assert envelope.mail_from == "agent@example.com"
    assert envelope.rcpt_tos == ["marketer@example.com"]
    assert isinstance(envelope.content, bytes)
    parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert parsed["Subject"] == MESSAGE.title
    assert MESSAGE.link is not None
    assert MESSAGE.link in parsed.get_body().get_content()  # type: ignore[union-attr]


async def test_email_refused_recipient_is_permanent(smtp_server: Mailbox) -> None:
    smtp_server.refuse.add("gone@example.com")
    config = SmtpConfig.from_url(f"smtp://mailer:p%40ss@{smtp_server.host}:{smtp_server.port}")
    with pytest.raises(NotificationRejected):
        await EmailNotifier(config, sender="a@example.com").send(
            MESSAGE, ChannelAddress(ChannelKind.EMAIL, "gone@example.com")
        )


async def test_email_bad_password_is_permanent(smtp_server: Mailbox) -> None:
    config = SmtpConfig.from_url(f"smtp://mailer:wrong@{smtp_server.host}:{smtp_server.port}")
    with pytest.raises(NotificationRejected):
        await EmailNotifier(config, sender="a@example.com").send(
            MESSAGE, ChannelAddress(ChannelKind.EMAIL, "b@example.com")
        )
    assert smtp_server.messages == []


@pytest.mark.parametrize("fixture", ["smtps_server", "starttls_server"])
async def test_email_over_tls(fixture: str, request: pytest.FixtureRequest, tls_pair: TlsPair) -> None:
    box: Mailbox = request.getfixturevalue(fixture)
    scheme = "smtps" if fixture == "smtps_server" else "smtp"
    config = SmtpConfig.from_url(f"{scheme}://mailer:p%40ss@{box.host}:{box.port}")
    notifier = EmailNotifier(config, sender="agent@example.com", tls_context=tls_pair.client)
    await notifier.send(MESSAGE, ChannelAddress(ChannelKind.EMAIL, "marketer@example.com"))
    assert [envelope.rcpt_tos for envelope in box.messages] == [["marketer@example.com"]]


async def test_email_refuses_an_untrusted_certificate(smtps_server: Mailbox) -> None:
    config = SmtpConfig.from_url(f"smtps://mailer:p%40ss@{smtps_server.host}:{smtps_server.port}")
    with pytest.raises(NotificationError):
        await EmailNotifier(config, sender="a@example.com").send(
            MESSAGE, ChannelAddress(ChannelKind.EMAIL, "b@example.com")
        )
    assert smtps_server.messages == []
