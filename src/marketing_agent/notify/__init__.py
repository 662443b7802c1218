"""Notifications: Telegram, Slack, e-mail and signed webhooks behind one protocol; operator alerts."""

from marketing_agent.notify._message import (
    AlertMessage,
    ChannelAddress,
    ChannelKind,
    Notification,
    NotificationAction,
    NotificationKind,
    run_completed_notification,
    run_failed_notification,
)
from marketing_agent.notify._protocol import Notifier
from marketing_agent.notify.alerts import (
    AlertDelivery,
    deliver_alert,
    deliver_alert_report,
    parse_alert_channel,
)
from marketing_agent.notify.memory import MemoryNotifier
from marketing_agent.notify.registry import NotifierRegistry, build_notifiers

__all__ = [
    "AlertDelivery",
    "AlertMessage",
    "ChannelAddress",
    "ChannelKind",
    "MemoryNotifier",
    "Notification",
    "NotificationAction",
    "NotificationKind",
    "Notifier",
    "NotifierRegistry",
    "build_notifiers",
    "deliver_alert",
    "deliver_alert_report",
    "parse_alert_channel",
    "run_completed_notification",
    "run_failed_notification",
]
