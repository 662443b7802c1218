"""Turning a provider SDK's exception into one of our LLM errors.

The decision uses the exception's type, the HTTP status and the error body's structured ``type``/``code``
fields — never the human-readable message, which providers reword freely.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Mapping
from typing import Any

from marketing_agent.errors import (
    LLMError,
    LLMFatalError,
    LLMOverloaded,
    LLMRateLimited,
    LLMUnavailable,
)

# Statuses where the same request can succeed later: request timeout, conflict (Anthropic uses 409 for
# transient lock contention), too early. 429 and 5xx are handled on their own.
_RETRYABLE_4XX = frozenset({408, 409, 425})
# Error codes that come with a 429 but mean "you are out of money", which no retry fixes.
_QUOTA_CODES = frozenset({"insufficient_quota", "billing_hard_limit_reached"})
# Error codes/types that mean the prompt does not fit the model's window.
CONTEXT_OVERFLOW_CODES = frozenset({"context_length_exceeded", "string_above_max_length"})


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date), when the provider sent one."""
    if not headers:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def classify_status(
    provider: str,
    status: int,
    *,
    error_type: str | None,
    error_code: str | None,
    headers: Mapping[str, str] | None,
    detail: str,
) -> LLMError:
    """The LLM error for an HTTP error answer, from its status and structured error fields."""
    details: dict[str, Any] = {"provider": provider, "status": status}
    if error_type:
        details["error_type"] = error_type
    if error_code:
        details["error_code"] = error_code
    retry_after = retry_after_seconds(headers)
    detail = redact(detail)
    message = f"{provider} answered {status}" + (f" ({error_type or error_code})" if error_type or error_code else "")
    message += f": {detail}" if detail else ""

    def make(cls: type[LLMError]) -> LLMError:
        return cls(message, status=status, retry_after_seconds=retry_after, details=details)

    if error_code in _QUOTA_CODES:
        return make(LLMFatalError)
    if status == 529 or error_type == "overloaded_error":
        return make(LLMOverloaded)
    if status == 429:
        return make(LLMRateLimited)
    if status >= 500 or status in _RETRYABLE_4XX:
        return make(LLMUnavailable)
    if error_code in CONTEXT_OVERFLOW_CODES:
        details["context_overflow"] = True
    return make(LLMFatalError)


# Provider messages may echo part of a key ("Incorrect API key provided: sk-abc…xyz"); they end up in
# run records and logs, so anything shaped like a key is masked.
_KEY_LIKE = re.compile(r"\b(?:sk|key|api)[-_][A-Za-z0-9_*.\-]{6,}")


def redact(text: str) -> str:
    return _KEY_LIKE.sub("[redacted]", text)


def body_field(body: object, *path: str) -> str | None:
    """``body[path[0]][path[1]]…`` as a string when every level is a dict and the value is set."""
    node: object = body
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return str(node) if node is not None else None
