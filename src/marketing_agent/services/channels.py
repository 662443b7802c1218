"""Where a user's completion notifications go (telegram, slack, email, webhook), and Telegram chat links."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import uuid

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from marketing_agent.db.enums import ChannelKind
from marketing_agent.db.models import UserChannelRow, UserRow
from marketing_agent.db.session import Database
from marketing_agent.errors import Conflict, NotFound, ValidationFailed
from marketing_agent.netguard import AllowList, BlockedAddressError, check_url
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
    db: Database,
    user_id: uuid.UUID,
    channel: str,
    address: str,
    *,
    secret: str | None = None,
    allow: AllowList | None = None,
) -> Channel:
    """Add a channel. With ``allow`` (the API passes NOTIFY_ALLOWED_HOSTS), a Slack or webhook URL that
    resolves to a loopback, private, link-local or metadata address is refused now, with a clear reason;
    the notifiers' guarded transport refuses it again at send time (DNS may change in between)."""
    kind = _check(channel, address)
    if allow is not None and kind in {ChannelKind.SLACK, ChannelKind.WEBHOOK}:
        try:
            await check_url(address.strip(), allow)
        except BlockedAddressError as exc:
            raise ValidationFailed(f"address refused: {exc.message}", details=[{"field": "address"}]) from exc
    if kind is ChannelKind.TELEGRAM:
        # Anyone can type a chat id; only the chat itself proves it is yours (link_telegram_chat, the bot).
        raise ValidationFailed(
            "a Telegram chat is linked from the chat itself: send /link YOUR_API_KEY to the bot",
            details=[{"field": "channel"}],
        )
    row = UserChannelRow(id=uuid.uuid4(), user_id=user_id, channel=kind.value, address=address.strip(), secret=secret)
    try:
        async with db.transaction() as session:
            session.add(row)
    except IntegrityError as exc:
        raise Conflict(f"this {kind} channel is already registered") from exc
    return Channel.of(row)


# --- e-mail addresses: verified before they receive anything ---------------------------------------
VERIFICATION_CODE_BYTES = 6  # 8 url-safe characters: 48 bits, and a wrong guess costs an API request


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.strip().encode()).hexdigest()


async def request_email_channel(db: Database, user_id: uuid.UUID, address: str) -> tuple[Channel, str]:
    """Add an e-mail channel **disabled**, holding the hash of a fresh code; returns the channel and the code,
    which the caller must send to the address only (never to the API caller). ``verify_email_channel`` with
    that code enables it, so an address receives nothing but the code until its owner confirms it."""
    _check(ChannelKind.EMAIL.value, address)
    code = secrets.token_urlsafe(VERIFICATION_CODE_BYTES)
    row = UserChannelRow(
        id=uuid.uuid4(), user_id=user_id, channel=ChannelKind.EMAIL.value, address=address.strip(),
        secret=_code_hash(code), enabled=False,
    )  # fmt: skip
    try:
        async with db.transaction() as session:
            session.add(row)
    except IntegrityError as exc:
        raise Conflict("this email channel is already registered") from exc
    return Channel.of(row), code


async def verify_email_channel(db: Database, user_id: uuid.UUID, channel_id: uuid.UUID, code: str) -> Channel:
    async with db.transaction() as session:
        row = await session.get(UserChannelRow, channel_id)
        if row is None or row.user_id != user_id or row.channel != ChannelKind.EMAIL.value:
            raise NotFound("channel not found")
        if row.enabled:
            return Channel.of(row)
        if not row.secret or not hmac.compare_digest(row.secret, _code_hash(code)):
            raise ValidationFailed("the code does not match the one sent to this address", details=[{"field": "code"}])
        row.enabled = True
        row.secret = None  # used once
        await session.flush()
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
    """The chat's one user. ``link_telegram_chat`` moves a chat's link in one transaction, so there is one
    row; should two ever exist (links racing), the newest link wins — never an arbitrary one."""
    async with db.transaction() as session:
        row = await session.scalar(
            select(UserRow)
            .join(UserChannelRow, UserChannelRow.user_id == UserRow.id)
            .where(
                UserChannelRow.channel == ChannelKind.TELEGRAM.value,
                UserChannelRow.address == str(chat_id),
            )
            .order_by(UserChannelRow.created_at.desc(), UserChannelRow.id.desc())
            .limit(1)
        )
    return User.of(row) if row is not None else None
