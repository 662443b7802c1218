"""E-mail channel: SMTP with aiosmtplib.

``SMTP_URL`` is ``smtp://[user:pass@]host[:port]`` (STARTTLS when the server offers it, port 25 by
default) or ``smtps://…`` (TLS from the first byte, port 465 by default). Certificates are verified.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

import aiosmtplib

from marketing_agent.errors import ConfigError, NotificationError, NotificationRejected
from marketing_agent.notify._message import ChannelAddress, Notification

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int
    use_tls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ConfigError("SMTP_URL must look like smtp://user:pass@host:port or smtps://…")
        use_tls = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if use_tls else 25),
            use_tls=use_tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


def build_email(message: Notification, *, sender: str, recipient: str) -> EmailMessage:
    email = EmailMessage()
    email["Subject"] = message.title
    email["From"] = sender
    email["To"] = recipient
    lines = [message.title, ""]
    lines += [f"{name}: {value}" for name, value in message.fields.items()]
    if message.fields:
        lines.append("")
    lines.append(message.body.strip())
    if message.link:
        lines += ["", f"Full output: {message.link}"]
    email.set_content("\n".join(lines) + "\n")
    return email


class EmailNotifier:
    """Sends one plain-text e-mail per notification to the address."""

    def __init__(self, config: SmtpConfig, *, sender: str, tls_context: ssl.SSLContext | None = None) -> None:
        self._config = config
        self._sender = sender
        # None: the system's trusted CAs. Tests (or a private CA) pass their own context.
        self._tls_context = tls_context

    async def send(self, message: Notification, address: ChannelAddress) -> None:
        email = build_email(message, sender=self._sender, recipient=address.address)
        config = self._config
        try:
            await aiosmtplib.send(
                email,
                hostname=config.host,
                port=config.port,
                username=config.username,
                password=config.password,
                use_tls=config.use_tls,
                tls_context=self._tls_context,
                timeout=config.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise NotificationRejected(f"e-mail refused for {address.address}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            # 5xx replies are permanent in SMTP's own terms (RFC 5321 § 4.2.1); 4xx are transient.
            text = f"SMTP server answered {exc.code}: {exc.message}"
            if 500 <= exc.code < 600:
                raise NotificationRejected(text, details={"status": exc.code}) from exc
            raise NotificationError(text, details={"status": exc.code}) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise NotificationError(f"SMTP delivery failed: {type(exc).__name__}") from exc
        logger.info("e-mail notification sent", extra={"channel": address.display_name})
