"""An in-memory channel for tests of code that sends notifications (functions, services)."""

from __future__ import annotations

from dataclasses import dataclass, field

from marketing_agent.errors import NotificationError
from marketing_agent.notify._message import ChannelAddress, Notification


@dataclass
class MemoryNotifier:
    """Records what it is asked to send; ``failures`` makes the next sends raise, in order."""

    sent: list[tuple[Notification, ChannelAddress]] = field(default_factory=list)
    failures: list[NotificationError] = field(default_factory=list)

    async def send(self, message: Notification, address: ChannelAddress) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((message, address))
