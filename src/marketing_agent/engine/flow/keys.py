"""Small pure helpers of flow control: CEL keys, durations, the GCRA arithmetic. No I/O here."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from .._expr import evaluate

log = logging.getLogger(__name__)

#: Inngest's bound on ``priority.run`` (``PriorityFactorMin/Max``): 12 hours either way.
PRIORITY_LIMIT_S = 12 * 3600
#: A batch closes when its events reach this many bytes (Inngest's hard cap).
BATCH_MAX_BYTES = 10 * 1024 * 1024
#: ``idempotency`` keeps one run per key value for this long (``FunctionIdempotencyPeriod``).
IDEMPOTENCY_MS = 24 * 3_600_000
DEFAULT_BATCH_TIMEOUT_MS = 60_000


def key_value(expression: str | None, variables: dict[str, Any]) -> str:
    """The value of a CEL key as a bounded string (a hash), "" for no key. An evaluation error is its own
    value (``!error``): the runs whose key cannot be computed share one queue instead of failing."""
    if not expression:
        return ""
    try:
        value = evaluate(expression, variables)
    except Exception as exc:  # a missing field is common (an event without data.userId)
        log.debug("flow key %r did not evaluate: %s", expression, exc)
        return "!error"
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def event_key(expression: str | None, event: dict[str, Any]) -> str:
    return key_value(expression, {"event": event})


def priority_seconds(expression: str | None, event: dict[str, Any]) -> int:
    """``priority.run`` → seconds, clamped to ±12 h; 0 when unset or when it does not evaluate to a number."""
    if not expression:
        return 0
    try:
        value = evaluate(expression, {"event": event})
    except Exception as exc:
        log.debug("priority %r did not evaluate: %s", expression, exc)
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return max(-PRIORITY_LIMIT_S, min(PRIORITY_LIMIT_S, int(value)))


@dataclass(frozen=True)
class Gcra:
    """GCRA parameters: ``emission`` = period/limit between starts, ``tolerance`` = how far ahead of now the
    theoretical arrival time may run (``tolerance / emission`` starts can happen at once)."""

    emission: int
    tolerance: int

    @staticmethod
    def throttle(limit: int, period_ms: int, burst: int) -> Gcra:
        """Throttle: with ``burst`` 0 the starts are evenly spaced (never more than ``limit`` in any
        ``period``); with ``burst`` b >= 1 up to ``limit + b`` start at once, then one every period/limit
        (Inngest's documented example: limit 2, period 6 s, burst 1 → 3 at once, then one every 3 s)."""
        emission = max(1, period_ms // max(limit, 1))
        capacity = 1 if burst <= 0 else limit + burst
        return Gcra(emission, emission * capacity)

    @staticmethod
    def rate_limit(limit: int, period_ms: int) -> Gcra:
        """Rate limit: ``limit`` starts at once, refilled one every period/limit."""
        emission = max(1, period_ms // max(limit, 1))
        return Gcra(emission, emission * max(limit, 1))

    def start_at(self, tat: int, now: int) -> int:
        """When a start that moved the arrival time to ``tat`` may happen."""
        return max(now, tat - self.tolerance)
