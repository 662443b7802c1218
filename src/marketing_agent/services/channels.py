"""Where a user's completion notifications go (telegram, slack, email, webhook), and Telegram chat links."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from marketing_agent.db.enums import ChannelKind
from marketing_agent.db.models import UserChannelRow, UserRow
from marketing_agent.db.session import Database
from marketing_agent.errors import Conflict, NotFound, ValidationFailed
from marketing_agent.services.records import Channel, User

logger = logging.getLogger(__name__)


def _check(channel: str, address: str) -> ChannelKind:
    try:
        kind = ChannelKind(channel)
    except ValueError as exc:
        raise ValidationFailed(
            "channel must be one of telegram, slack, email, webhook", details=[{"field": "channel"}]
        ) from exc
    address = address.strip()
    if not address or len(address) > 2048:
        raise ValidationFailed("address must be 1-2048 characters", details=[{"field": "address"}])
    if kind in {ChannelKind.SLACK, ChannelKind.WEBHOOK} and not address.startswith(("https://", "http://")):
        raise ValidationFailed(f"a {kind} address must be an http(s) URL", details=[{"field": "address"}])
    if kind is ChannelKind.EMAIL and "@" not in address:
        raise ValidationFailed("an email address needs an @", details=[{"field": "address"}])
    return kind


async def add_channel(
    db: Database, user_id: uuid.UUID, channel: str, address: str, *, secret: str | None = None
) -> Channel:
    kind = _check(channel, address)
    row = UserChannelRow(id=uuid.uuid4(), user_id=user_id, channel=kind.value, address=address.strip(), secret=secret)
    try:
        async with db.transaction() as session:
            session.add(row)
    except IntegrityError as exc:
        raise Conflict(f"this {kind} channel is already registered") from exc
    return Channel.of(row)


async def list_user_channels(db: Database, user_id: uuid.UUID, *, enabled_only: bool = True) -> list[Channel]:
    """The user's channels, oldest first (what notify-completion iterates over)."""
    query = select(UserChannelRow).where(UserChannelRow.user_id == user_id)
    if enabled_only:
        query = query.where(UserChannelRow.enabled.is_(True))
    async with db.transaction() as session:
        rows = (await session.scalars(query.order_by(UserChannelRow.created_at, UserChannelRow.id))).all()
    return [Channel.of(row) for row in rows]


async def delete_channel(db: Database, user_id: uuid.UUID, channel_id: uuid.UUID) -> None:
    async with db.transaction() as session:
        result = await session.execute(
            delete(UserChannelRow).where(UserChannelRow.id == channel_id, UserChannelRow.user_id == user_id)
        )
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise NotFound("channel not found")


# --- Telegram chats (used by the bot) ----------------------------------------------------------------
async def link_telegram_chat(db: Database, user_id: uuid.UUID, chat_id: int | str) -> Channel:
    """Make ``chat_id`` the user's Telegram channel. A chat belongs to one user: an older link moves."""
    address = str(chat_id)
    async with db.transaction() as session:
        await session.execute(
            delete(UserChannelRow).where(
                UserChannelRow.channel == ChannelKind.TELEGRAM.value,
                UserChannelRow.address == address,
                UserChannelRow.user_id != user_id,
            )
        )
        row = await session.scalar(
            select(UserChannelRow).where(
                UserChannelRow.channel == ChannelKind.TELEGRAM.value,
                UserChannelRow.address == address,
                UserChannelRow.user_id == user_id,
            )
        )
        if row is None:
            row = UserChannelRow(id=uuid.uuid4(), user_id=user_id, channel=ChannelKind.TELEGRAM.value, address=address)
            session.add(row)
        row.enabled = True
        await session.flush()
    return Channel.of(row)


async def unlink_telegram_chat(db: Database, chat_id: int | str) -> bool:
    """Forget the chat; True when a link existed."""
    async with db.transaction() as session:
        result = await session.execute(
            delete(UserChannelRow).where(
                UserChannelRow.channel == ChannelKind.TELEGRAM.value, UserChannelRow.address == str(chat_id)
            )
        )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def user_for_telegram_chat(db: Database, chat_id: int | str) -> User | None:
    async with db.transaction() as session:
        row = await session.scalar(
            select(UserRow)
            .join(UserChannelRow, UserChannelRow.user_id == UserRow.id)
            .where(
                UserChannelRow.channel == ChannelKind.TELEGRAM.value,
                UserChannelRow.address == str(chat_id),
            )
            .limit(1)
        )
    return User.of(row) if row is not None else None
