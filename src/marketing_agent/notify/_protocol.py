"""The one interface every channel implements."""

from __future__ import annotations

from typing import Protocol

from marketing_agent.notify._message import ChannelAddress, Notification


class Notifier(Protocol):
    """Delivers a notification to one address of its channel kind.

    Raises :class:`marketing_agent.errors.NotificationError` when trying again may help (network error,
    timeout, 429, 5xx) and :class:`marketing_agent.errors.NotificationRejected` when it cannot (chat not
    found, bot blocked, address refused, bad credentials).
    """

    async def send(self, message: Notification, address: ChannelAddress) -> None: ...
