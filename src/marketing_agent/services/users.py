"""Users and their API keys (≥ 32 random bytes, stored only as a SHA-256 hash, shown once)."""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from marketing_agent.db.models import UserRow
from marketing_agent.db.session import Database
from marketing_agent.errors import Conflict, InvalidApiKey, NotFound, ValidationFailed
from marketing_agent.services.records import CreatedUser, User

logger = logging.getLogger(__name__)

API_KEY_PREFIX = "mak_"
_KEY_BYTES = 32


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(_KEY_BYTES)


def _check_email(email: str) -> str:
    email = email.strip().lower()
    local, at, domain = email.partition("@")
    if not at or not local or not domain or len(email) > 320 or any(ch.isspace() for ch in email):
        raise ValidationFailed("email is not a valid address", details=[{"field": "email"}])
    return email


async def create_user(db: Database, email: str) -> CreatedUser:
    """Create a user and return it with its API key — the only time the key is ever available."""
    email = _check_email(email)
    api_key = new_api_key()
    row = UserRow(id=uuid.uuid4(), email=email, api_key_hash=hash_api_key(api_key))
    try:
        async with db.transaction() as session:
            session.add(row)
    except IntegrityError as exc:
        raise Conflict(f"a user with email {email} already exists") from exc
    logger.info("user created", extra={"user_id": str(row.id)})
    return CreatedUser(user=User.of(row), api_key=api_key)


async def resolve_user_by_api_key(db: Database, api_key: str) -> User:
    """The user owning ``api_key``; :class:`InvalidApiKey` when none does."""
    if not api_key:
        raise InvalidApiKey("invalid API key")
    async with db.transaction() as session:
        row = await session.scalar(select(UserRow).where(UserRow.api_key_hash == hash_api_key(api_key)))
    if row is None:
        raise InvalidApiKey("invalid API key")
    return User.of(row)


authenticate = resolve_user_by_api_key


async def get_user(db: Database, user_id: uuid.UUID) -> User:
    async with db.transaction() as session:
        row = await session.get(UserRow, user_id)
    if row is None:
        raise NotFound("user not found")
    return User.of(row)


async def count_users(db: Database) -> int:
    async with db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(UserRow)) or 0)
