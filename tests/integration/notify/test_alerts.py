"""deliver_alert fans one alert out to ALERT_CHANNELS; a failing channel does not stop the others."""

from __future__ import annotations

import logging

import pytest

from marketing_agent.notify import AlertMessage, deliver_alert, deliver_alert_report
from marketing_agent.notify.webhook import verify_signature
from marketing_agent.settings import Settings
from support.fake_telegram import FakeTelegram

from .conftest import HttpRecorder, Mailbox

ALERT = AlertMessage(
    key="skill_health_low",
    title="copywriting: average 2.4/5 over the last 10 ratings",
    message="The skill's recent outputs are rated low; review its instructions.",
    link="http://127.0.0.1:8000/api/v1/skills/copywriting/metrics",
    fields={"skill": "copywriting"},
)


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


async def test_alert_reaches_every_channel(
    http_recorder: HttpRecorder,
    fake_telegram: FakeTelegram,
    smtp_server: Mailbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = _settings(
        alert_channels=f"log, slack, email, webhook:{http_recorder.url}/alerts, telegram:777",
        slack_webhook_url=f"{http_recorder.url}/slack",
        notify_allowed_hosts="127.0.0.1",  # the recorder is on loopback, which is refused unless listed
        alert_webhook_secret="alert-hmac-key",
        alert_email_to="ops@example.com",
        smtp_url=f"smtp://mailer:p%40ss@{smtp_server.host}:{smtp_server.port}",
        telegram_bot_token=fake_telegram.token,
        telegram_api_base_url=fake_telegram.origin,
    )
    with caplog.at_level(logging.WARNING, logger="marketing_agent.notify.log"):
        delivered = await deliver_alert(ALERT, settings)
    assert delivered == [
        "log",
        "slack:127.0.0.1",
        "email:ops@example.com",
        "webhook:127.0.0.1",
        "telegram:777",
    ]
    assert sorted(request.path for request in http_recorder.received) == ["/alerts", "/slack"]
    [hook] = [r for r in http_recorder.received if r.path == "/alerts"]
    headers = {k.lower(): v for k, v in hook.headers.items()}
    assert verify_signature(  # signed like completion webhooks: a receiver can refuse forged alerts
        "alert-hmac-key", hook.body, headers["x-marketing-agent-timestamp"], headers["x-marketing-agent-signature"]
    )
    assert [envelope.rcpt_tos for envelope in smtp_server.messages] == [["ops@example.com"]]
    [stored] = fake_telegram.chat_messages(777)
    assert stored["text"].startswith(ALERT.title)
    assert any(ALERT.title in record.getMessage() for record in caplog.records)


async def test_a_failing_channel_does_not_stop_the_others(
    http_recorder: HttpRecorder, fake_telegram: FakeTelegram
) -> None:
    fake_telegram.blocked_chats.add(13)
    settings = _settings(
        alert_channels=f"pager, telegram:13, email, webhook:{http_recorder.url}/alerts, telegram:14",
        notify_allowed_hosts="127.0.0.1",
        alert_webhook_secret="alert-hmac-key",
        telegram_bot_token=fake_telegram.token,
        telegram_api_base_url=fake_telegram.origin,
    )
    report = await deliver_alert_report(ALERT, settings)
    assert report.delivered == ["webhook:127.0.0.1", "telegram:14"]
    assert set(report.failed) == {"pager", "telegram:13", "email"}
    assert report.failed["telegram:13"].startswith("NOTIFICATION_REJECTED")
    assert len(http_recorder.received) == 1


async def test_no_alert_channels_delivers_nothing() -> None:
    assert await deliver_alert(ALERT, _settings()) == []


async def test_alert_urls_to_internal_addresses_are_refused(http_recorder: HttpRecorder) -> None:
    """The attack: an alert (or Slack) URL pointing at this machine or the metadata service. Without
    NOTIFY_ALLOWED_HOSTS naming the host, nothing is sent."""
    settings = _settings(
        alert_channels=f"slack, webhook:{http_recorder.url}/alerts, webhook:http://169.254.169.254/latest/meta-data",
        slack_webhook_url=f"{http_recorder.url}/slack",
        alert_webhook_secret="alert-hmac-key",
    )
    report = await deliver_alert_report(ALERT, settings)
    assert report.delivered == []
    assert len(report.failed) == 3
    assert all(reason.startswith("NOTIFICATION_REJECTED") for reason in report.failed.values())
    assert http_recorder.received == []
