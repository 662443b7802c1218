"""One notifier per channel kind, built once from the settings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType

import httpx

from marketing_agent.errors import NotificationRejected
from marketing_agent.netguard import AllowList, guarded_transport
from marketing_agent.notify._message import ChannelAddress, ChannelKind, Notification
from marketing_agent.notify._protocol import Notifier
from marketing_agent.notify.log import LogNotifier
from marketing_agent.notify.slack import SlackNotifier
from marketing_agent.notify.smtp import EmailNotifier, SmtpConfig
from marketing_agent.notify.telegram import TelegramNotifier
from marketing_agent.notify.webhook import WebhookNotifier
from marketing_agent.settings import Settings

DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)


class NotifierRegistry:
    """Maps a channel kind to its notifier; a kind the settings do not configure is missing.

    Owns the shared HTTP client when it created it: use it as an async context manager or call
    :meth:`aclose`.
    """

    def __init__(
        self,
        notifiers: Mapping[ChannelKind, Notifier],
        *,
        client: httpx.AsyncClient | None = None,
        also_owns: Sequence[httpx.AsyncClient] = (),
    ) -> None:
        self._notifiers = dict(notifiers)
        self._clients = [c for c in (client, *also_owns) if c is not None]

    def get(self, kind: ChannelKind | str) -> Notifier:
        """The notifier for ``kind``; :class:`NotificationRejected` when it is not configured."""
        notifier = self._notifiers.get(ChannelKind(kind))
        if notifier is None:
            raise NotificationRejected(f"the {kind} channel is not configured on this server")
        return notifier

    def configured(self) -> frozenset[ChannelKind]:
        return frozenset(self._notifiers)

    async def send(self, message: Notification, address: ChannelAddress) -> None:
        """Send through the notifier of the address's kind."""
        await self.get(address.kind).send(message, address)

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()

    async def __aenter__(self) -> NotifierRegistry:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


def build_notifiers(settings: Settings, *, client: httpx.AsyncClient | None = None) -> NotifierRegistry:
    """Every channel the settings make possible. Slack and webhooks need nothing (their URL is the
    address); Telegram needs ``TELEGRAM_BOT_TOKEN``; e-mail needs ``SMTP_URL``.

    Pass ``client`` to share an HTTP client (the caller then closes it); otherwise the registry owns one.
    """
    owned = client is None
    http = client or httpx.AsyncClient(timeout=DEFAULT_TIMEOUT, follow_redirects=False)
    # Slack and webhook URLs come from users (and ALERT_CHANNELS): their client connects only to public
    # addresses or hosts NOTIFY_ALLOWED_HOSTS names, checked at connect time (netguard.py) — always its own.
    guarded = httpx.AsyncClient(
        timeout=DEFAULT_TIMEOUT,
        follow_redirects=False,
        transport=guarded_transport(AllowList.parse(settings.notify_allowed_hosts)),
    )
    notifiers: dict[ChannelKind, Notifier] = {
        ChannelKind.SLACK: SlackNotifier(guarded),
        ChannelKind.WEBHOOK: WebhookNotifier(guarded),
        ChannelKind.LOG: LogNotifier(),
    }
    # An empty variable (TELEGRAM_BOT_TOKEN= in a .env) means "not configured", like a missing one.
    token = settings.telegram_bot_token.get_secret_value().strip() if settings.telegram_bot_token else ""
    if token:
        notifiers[ChannelKind.TELEGRAM] = TelegramNotifier(
            http, token=token, api_base_url=settings.telegram_api_base_url
        )
    smtp_url = settings.smtp_url.get_secret_value().strip() if settings.smtp_url else ""
    if smtp_url:
        notifiers[ChannelKind.EMAIL] = EmailNotifier(SmtpConfig.from_url(smtp_url), sender=settings.smtp_from)
    return NotifierRegistry(notifiers, client=http if owned else None, also_owns=(guarded,))
