"""Durations as Inngest's configs and step opcodes write them: ``"90s"``, ``"1h30m"``, ``"500ms"``, or a
number of milliseconds. One parser for function config, flow control and sleeps."""

from __future__ import annotations

import re
from typing import Any

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_WHOLE = re.compile(r"(\d+(?:\.\d+)?(ms|s|m|h|d|w))+")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def duration_ms(value: Any) -> int | None:
    """``"90s"`` / ``"1h30m"`` / int milliseconds → milliseconds; None when unset. ValueError when invalid."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"invalid duration {value!r}")
    if isinstance(value, int | float):
        return int(value)
    text = str(value).strip()
    if not _WHOLE.fullmatch(text):
        raise ValueError(f"invalid duration {value!r}")
    return int(sum(float(n) * _UNIT_MS[u] for n, u in _PART.findall(text)))


def parse_duration(value: Any) -> float | None:
    """The same in seconds (what sleeps and timeouts are computed in)."""
    ms = duration_ms(value)
    return None if ms is None else ms / 1000
