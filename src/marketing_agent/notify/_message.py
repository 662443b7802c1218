"""What a notification says and where it goes: plain frozen values, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit


class NotificationKind(StrEnum):
    RUN_COMPLETED = "run_completed"
    RUN_FAILED = "run_failed"
    ALERT = "alert"
    WORKFLOW_REVIEW = "workflow_review"
    WORKFLOW_FINISHED = "workflow_finished"
    CHANNEL_VERIFICATION = "channel_verification"  # "is this your address?" before it receives anything


class ChannelKind(StrEnum):
    """The kinds of channel; the first four are the values of ``user_channels.channel``."""

    TELEGRAM = "telegram"
    SLACK = "slack"
    EMAIL = "email"
    WEBHOOK = "webhook"
    LOG = "log"  # alerts only: the operator reads the process log


@dataclass(frozen=True, slots=True)
class NotificationAction:
    """A button under a message where the channel has buttons (Telegram inline keyboards); ``data`` is
    what the bot receives when it is pressed (at most 64 bytes)."""

    label: str
    data: str


@dataclass(frozen=True, slots=True)
class Notification:
    """One message for a person: a title, a short preview and where to read the rest."""

    kind: NotificationKind
    title: str
    body: str
    link: str | None = None
    run_id: str | None = None
    # Extra labelled values (skill, client, score…), shown in order where the channel has room.
    fields: Mapping[str, str] = field(default_factory=dict)
    # Buttons, on channels that have them; the others show the fields and the link instead.
    actions: tuple[NotificationAction, ...] = ()


@dataclass(frozen=True, slots=True)
class ChannelAddress:
    """Where one channel delivers: a chat id, a webhook URL or an e-mail address.

    ``secret`` is only used by generic webhooks (the HMAC key); it is never logged.
    """

    kind: ChannelKind
    address: str
    secret: str | None = field(default=None, repr=False)

    @property
    def display_name(self) -> str:
        """A name safe for logs and records: webhook URLs may carry tokens, so only their host shows."""
        if self.kind in (ChannelKind.WEBHOOK, ChannelKind.SLACK):
            return f"{self.kind.value}:{_host_of(self.address)}"
        if self.kind is ChannelKind.LOG:
            return "log"
        return f"{self.kind.value}:{self.address}"


@dataclass(frozen=True, slots=True)
class AlertMessage:
    """An operator alert (a skill's quality dropped, runs are stuck…)."""

    key: str  # stable type of alert, e.g. "skill_health_low", "runs_stuck"
    title: str
    message: str
    severity: str = "warning"  # "warning" | "critical"
    link: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)

    def to_notification(self) -> Notification:
        fields = {"alert": self.key, "severity": self.severity, **self.fields}
        return Notification(
            kind=NotificationKind.ALERT, title=self.title, body=self.message, link=self.link, fields=fields
        )


def _host_of(url: str) -> str:
    return urlsplit(url).hostname or "?"


def run_completed_notification(
    *, run_id: str, skill: str, title: str, preview: str, link: str | None, client: str | None = None
) -> Notification:
    """The completion message every channel sends (``link`` points at the output's content)."""
    fields = {"skill": skill, **({"client": client} if client else {})}
    return Notification(
        kind=NotificationKind.RUN_COMPLETED,
        title=title,
        body=preview,
        link=link,
        run_id=run_id,
        fields=fields,
    )


def run_failed_notification(
    *, run_id: str, skill: str, error: str, link: str | None, client: str | None = None
) -> Notification:
    return Notification(
        kind=NotificationKind.RUN_FAILED,
        title=f"{skill} failed",
        body=error,
        link=link,
        run_id=run_id,
        fields={"skill": skill, **({"client": client} if client else {})},
    )
