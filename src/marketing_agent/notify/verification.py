"""The one message an unverified e-mail address may receive: the code that confirms it."""

from __future__ import annotations

from marketing_agent.errors import NotificationRejected
from marketing_agent.notify._message import ChannelAddress, ChannelKind, Notification, NotificationKind
from marketing_agent.notify.registry import build_notifiers
from marketing_agent.settings import Settings


async def send_email_verification(settings: Settings, address: str, code: str, verify_url: str) -> None:
    """Send ``code`` to ``address``; :class:`NotificationRejected` when this server has no SMTP_URL."""
    async with build_notifiers(settings) as notifiers:
        if ChannelKind.EMAIL not in notifiers.configured():
            raise NotificationRejected("e-mail channels need SMTP_URL on this server")
        message = Notification(
            kind=NotificationKind.CHANNEL_VERIFICATION,
            title="Confirm this address for marketing-agent notifications",
            body=(
                f"Someone (hopefully you) asked for run notifications at this address. Your code: {code}\n\n"
                f'Confirm with POST {verify_url} {{"code": "{code}"}} and your API key. '
                "If it was not you, ignore this message: nothing else will be sent here."
            ),
            fields={"code": code},
        )
        await notifiers.send(message, ChannelAddress(ChannelKind.EMAIL, address))
