"""Small helpers shared by the use-case modules."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from marketing_agent.errors import ValidationFailed

T = TypeVar("T")

MAX_PAGE = 100
DEFAULT_PAGE = 20
MAX_OFFSET = 1_000_000_000  # past it, drivers overflow (SQLite INTEGER is 64-bit)


def check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationFailed("limit must be between 1 and 100", details=[{"field": "limit"}])
    if not 0 <= offset <= MAX_OFFSET:
        raise ValidationFailed("offset must be between 0 and 1,000,000,000", details=[{"field": "offset"}])


async def count(session: AsyncSession, query: Any) -> int:
    """Rows ``query`` (a Select) would return, ignoring its ordering."""
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    return int(total or 0)


def as_uuid(value: uuid.UUID | str, what: str = "id") -> uuid.UUID:
    """Accept ids as UUIDs or strings (events carry strings); a malformed one is a validation error."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError as exc:
        raise ValidationFailed(f"{what} is not a valid id", details=[{"field": what}]) from exc
