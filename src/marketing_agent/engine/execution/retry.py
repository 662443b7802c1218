"""The retry policy: when a step or call that errored is tried again (Inngest's backoff table with jitter,
or the fast schedule; an SDK's ``retry-after`` overrides it within 1 s … 24 h)."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from .._ids import now_ms

DAY_MS = 86_400_000


def parse_time(text: str) -> int | None:
    """ISO-8601 (the SDK's ``2030-01-02T03:04:05.000Z``) → ms epoch."""
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def retry_delay(backoff: tuple[tuple[float, ...], float], attempt: int, retry_after: str | None) -> int:
    """Milliseconds until attempt ``attempt + 1``. ``backoff`` is (seconds per attempt, jitter seconds)."""
    if retry_after:
        text = retry_after.strip()
        at = now_ms() + int(text) * 1000 if len(text) <= 7 and text.isdigit() else parse_time(text)
        if at is not None:
            return int(min(max(at - now_ms(), 1000), DAY_MS))
    table, jitter = backoff
    base = table[min(attempt, len(table) - 1)]
    return int((base + random.random() * jitter) * 1000)
