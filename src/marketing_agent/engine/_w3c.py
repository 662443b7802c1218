"""W3C Trace Context: the ``traceparent`` header (https://www.w3.org/TR/trace-context/), without the OTel SDK."""

from __future__ import annotations


def parse_traceparent(value: str | None) -> tuple[int, int] | None:
    """``00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`` → (trace id, span id); None when malformed."""
    if not value:
        return None
    parts = value.strip().split("-")
    if len(parts) != 4 or parts[0] == "ff" or len(parts[1]) != 32 or len(parts[2]) != 16 or len(parts[3]) != 2:
        return None
    try:
        trace_id, span_id = int(parts[1], 16), int(parts[2], 16)
        int(parts[0], 16), int(parts[3], 16)
    except ValueError:
        return None
    if not trace_id or not span_id:
        return None
    return trace_id, span_id


def traceparent(trace_id: int, span_id: int) -> str:
    return f"00-{trace_id:032x}-{span_id:016x}-01"
