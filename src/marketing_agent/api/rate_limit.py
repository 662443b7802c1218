"""Per-user request rate limit of the API (``API_RATE_LIMIT_PER_MINUTE``).

Enforced in the authentication dependency (``auth.current_user``), so every route that needs a user —
today's and any added later — is counted without a line of its own. A sliding window of one minute per
user, in memory: each API process counts alone (N replicas allow N times the limit), which bounds spend
without a shared store. Runs per day are counted in the database instead (``services.runs``), where every
replica sees them.
"""

from __future__ import annotations

import math
import time
import uuid
from collections import deque
from collections.abc import Callable

from marketing_agent.errors import RateLimited

WINDOW_SECONDS = 60.0


class UserRateLimiter:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._hits: dict[uuid.UUID, deque[float]] = {}

    def hit(self, user_id: uuid.UUID) -> None:
        """Count one request; raise :class:`RateLimited` (with ``retryAfter`` seconds) over the limit."""
        if self.per_minute <= 0:
            return
        now = self._clock()
        hits = self._hits.setdefault(user_id, deque())
        while hits and hits[0] <= now - WINDOW_SECONDS:
            hits.popleft()
        if len(hits) >= self.per_minute:
            retry_after = max(1, math.ceil(hits[0] + WINDOW_SECONDS - now))
            raise RateLimited(
                f"more than {self.per_minute} requests in a minute; retry in {retry_after} s",
                details={"retryAfter": retry_after},
            )
        hits.append(now)
        if len(self._hits) > 10_000:  # forget users idle for a whole window, so memory stays bounded
            idle = [u for u, h in self._hits.items() if not h or h[-1] <= now - WINDOW_SECONDS]
            for user in idle:
                del self._hits[user]
