"""The ``log`` alert channel: the operator reads the process log."""

from __future__ import annotations

import logging

from marketing_agent.notify._message import ChannelAddress, Notification

logger = logging.getLogger(__name__)


class LogNotifier:
    async def send(self, message: Notification, address: ChannelAddress) -> None:
        logger.warning(
            "%s: %s — %s",
            message.kind.value,
            message.title,
            message.body,
            extra={"notification_kind": message.kind.value, "link": message.link, **_safe(message)},
        )


def _safe(message: Notification) -> dict[str, str]:
    # `extra` keys must not clash with LogRecord attributes, so prefix the free-form fields.
    return {f"field_{name}": value for name, value in message.fields.items()}
