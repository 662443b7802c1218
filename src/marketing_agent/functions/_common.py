"""Small helpers the function modules share: error classification and JSON forms of step results.

Step results are memoized by the engine as JSON, so every step returns plain dicts, lists and scalars;
these helpers turn the frozen records of :mod:`marketing_agent.functions.deps` into that form and back.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from marketing_agent.errors import MarketingAgentError
from marketing_agent.functions.deps import AlertRecord


def is_permanent(exc: BaseException) -> bool:
    """True when retrying cannot help.

    Only our own errors know they are permanent (and say so with ``retryable``). Anything else may be
    transient — or a bug — so it is retried, and ``on_failure`` records it if it keeps happening. The
    decision uses the error's type, never its message text.
    """
    return isinstance(exc, MarketingAgentError) and not exc.retryable


def failure_result(exc: BaseException) -> dict[str, Any]:
    """A permanent error as a step result: the function reads it and takes its failure path."""
    code = exc.code if isinstance(exc, MarketingAgentError) else type(exc).__name__
    return {"failed": True, "code": code, "error": str(exc) or code}


def alert_to_json(alert: AlertRecord) -> dict[str, Any]:
    return {**asdict(alert), "links": list(alert.links)}


def alert_from_json(raw: dict[str, Any]) -> AlertRecord:
    return AlertRecord(**{**raw, "links": tuple(raw.get("links") or ())})
