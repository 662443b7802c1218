"""Operator alerts: send one alert to every channel in ``ALERT_CHANNELS``.

Entries: ``log``, ``slack`` (``SLACK_WEBHOOK_URL``), ``email`` (``ALERT_EMAIL_TO``) or ``email:addr``,
``webhook:https://…``, ``telegram:<chat id>``. A failing or misconfigured channel is logged and skipped;
the others still get the alert.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from marketing_agent.errors import ConfigError, MarketingAgentError
from marketing_agent.notify._message import AlertMessage, ChannelAddress, ChannelKind
from marketing_agent.notify.registry import NotifierRegistry, build_notifiers
from marketing_agent.settings import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AlertDelivery:
    """Outcome per channel, by display name (webhook URLs show only their host)."""

    delivered: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def parse_alert_channel(entry: str, settings: Settings) -> ChannelAddress:
    """One ``ALERT_CHANNELS`` entry as an address; :class:`ConfigError` says what is missing."""
    kind_text, _, value = entry.strip().partition(":")
    try:
        kind = ChannelKind(kind_text.strip().lower())
    except ValueError:
        raise ConfigError(f"unknown alert channel {kind_text!r}") from None
    value = value.strip()
    if kind is ChannelKind.LOG:
        return ChannelAddress(kind, "log")
    if kind is ChannelKind.SLACK:
        url = value or (settings.slack_webhook_url.get_secret_value() if settings.slack_webhook_url else "")
        if not url:
            raise ConfigError("alert channel 'slack' needs SLACK_WEBHOOK_URL")
        return ChannelAddress(kind, url)
    if kind is ChannelKind.EMAIL:
        address = value or settings.alert_email_to or ""
        if not address:
            raise ConfigError("alert channel 'email' needs an address: email:ops@example.com or ALERT_EMAIL_TO")
        return ChannelAddress(kind, address)
    if not value:
        raise ConfigError(f"alert channel '{kind.value}' needs a value ({kind.value}:…)")
    if kind is ChannelKind.WEBHOOK:
        # Signed like completion webhooks (notify/webhook.py), so a receiver can tell our alerts from forgeries.
        secret = settings.alert_webhook_secret.get_secret_value().strip() if settings.alert_webhook_secret else ""
        if not secret:
            raise ConfigError("alert channel 'webhook' needs ALERT_WEBHOOK_SECRET (its requests are signed)")
        return ChannelAddress(kind, value, secret=secret)
    return ChannelAddress(kind, value)


async def deliver_alert_report(
    alert: AlertMessage, settings: Settings, registry: NotifierRegistry | None = None
) -> AlertDelivery:
    """Send ``alert`` to every configured alert channel, one after another, never stopping early."""
    result = AlertDelivery()
    if not settings.alert_channels:
        logger.warning("alert not delivered: ALERT_CHANNELS is empty", extra={"alert": alert.key})
        return result
    owned = registry is None
    notifiers = registry or build_notifiers(settings)
    notification = alert.to_notification()
    try:
        for entry in settings.alert_channels:
            try:
                address = parse_alert_channel(entry, settings)
            except ConfigError as exc:
                result.failed[entry.split(":", 1)[0]] = exc.message
                logger.error("alert channel misconfigured: %s", exc.message)
                continue
            name = address.display_name
            try:
                await notifiers.send(notification, address)
            except MarketingAgentError as exc:
                result.failed[name] = f"{exc.code}: {exc.message}"
                logger.error("alert delivery failed", extra={"channel": name, "error_code": exc.code})
                continue
            result.delivered.append(name)
    finally:
        if owned:
            await notifiers.aclose()
    return result


async def deliver_alert(alert: AlertMessage, settings: Settings, registry: NotifierRegistry | None = None) -> list[str]:
    """Send ``alert`` to ``ALERT_CHANNELS``; returns the display names of the channels that took it."""
    return (await deliver_alert_report(alert, settings, registry)).delivered
