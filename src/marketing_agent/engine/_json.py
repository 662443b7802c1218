"""The engine's one JSON encoding for what it stores and compares: compact, UTF-8 kept as is."""

from __future__ import annotations

import json
from typing import Any


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
