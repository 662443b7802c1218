from __future__ import annotations

import pytest

from marketing_agent.errors import ConfigError, NotificationRejected
from marketing_agent.notify import (
    AlertMessage,
    ChannelAddress,
    ChannelKind,
    Notification,
    NotificationKind,
    build_notifiers,
    parse_alert_channel,
)
from marketing_agent.notify.slack import slack_payload
from marketing_agent.notify.smtp import SmtpConfig, build_email
from marketing_agent.settings import Settings


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_smtp_url_forms() -> None:
    plain = SmtpConfig.from_url("smtp://user%40x:p%3Ass@mail.example:2525")
    assert (plain.host, plain.port, plain.use_tls) == ("mail.example", 2525, False)
    assert (plain.username, plain.password) == ("user@x", "p:ss")
    tls = SmtpConfig.from_url("smtps://mail.example")
    assert (tls.port, tls.use_tls, tls.username) == (465, True, None)
    assert "p:ss" not in repr(plain)
    with pytest.raises(ConfigError):
        SmtpConfig.from_url("http://mail.example")


def test_email_has_subject_body_and_link() -> None:
    message = Notification(
        kind=NotificationKind.RUN_COMPLETED,
        title="Done",
        body="Preview",
        link="http://x/1",
        fields={"skill": "s"},
    )
    email = build_email(message, sender="a@x", recipient="b@x")
    assert email["Subject"] == "Done"
    text = email.get_content()
    assert "skill: s" in text
    assert "Preview" in text
    assert "Full output: http://x/1" in text


def test_slack_payload_escapes_user_text() -> None:
    message = Notification(kind=NotificationKind.ALERT, title="<!channel> t", body="a & <b>", link="http://x")
    payload = slack_payload(message)
    assert payload["text"] == "&lt;!channel&gt; t: http://x"
    bodies = [block["text"]["text"] for block in payload["blocks"] if block["type"] == "section"]  # type: ignore[index,union-attr,attr-defined]
    assert "a &amp; &lt;b&gt;" in bodies


def test_parse_alert_channels() -> None:
    settings = _settings(
        slack_webhook_url="https://hooks.slack.example/T/B/secret",
        alert_email_to="ops@x",
        alert_webhook_secret="k" * 32,
    )
    assert parse_alert_channel("log", settings) == ChannelAddress(ChannelKind.LOG, "log")
    slack = parse_alert_channel("slack", settings)
    assert slack.address.endswith("/secret")
    assert slack.display_name == "slack:hooks.slack.example"
    assert parse_alert_channel("email", settings).address == "ops@x"
    assert parse_alert_channel("email:cto@x", settings).address == "cto@x"
    assert parse_alert_channel("telegram:-100123", settings).address == "-100123"
    hook = parse_alert_channel("webhook:https://hooks.example/a?token=t", settings)
    assert hook.display_name == "webhook:hooks.example"
    assert hook.secret == "k" * 32  # alert webhooks are signed
    with pytest.raises(ConfigError, match="ALERT_WEBHOOK_SECRET"):
        parse_alert_channel("webhook:https://hooks.example/a", _settings())
    for bad in ("pager", "telegram", "webhook:"):
        with pytest.raises(ConfigError):
            parse_alert_channel(bad, settings)
    with pytest.raises(ConfigError):
        parse_alert_channel("slack", _settings())


async def test_registry_only_has_configured_channels() -> None:
    async with build_notifiers(_settings(telegram_bot_token="", smtp_url="")) as registry:
        assert registry.configured() == {ChannelKind.SLACK, ChannelKind.WEBHOOK, ChannelKind.LOG}
        with pytest.raises(NotificationRejected):
            registry.get("telegram")
    settings = _settings(telegram_bot_token="1:abc", smtp_url="smtp://localhost:25")
    async with build_notifiers(settings) as full:
        assert ChannelKind.TELEGRAM in full.configured()
        assert ChannelKind.EMAIL in full.configured()


def test_alert_becomes_an_alert_notification() -> None:
    alert = AlertMessage(key="runs_stuck", title="2 runs stuck", message="r1, r2", fields={"threshold": "300s"})
    notification = alert.to_notification()
    assert notification.kind is NotificationKind.ALERT
    assert dict(notification.fields) == {"alert": "runs_stuck", "severity": "warning", "threshold": "300s"}
