"""What ``marketing-agent run --follow`` says about an agent-loop step, from the engine's step record.

A tool call is the step ``tool-N-<name>``; its memoized value is the tool's record (name, input, status,
bytes, duration, final URL — see ``agent.tools.ToolOutcome``). Kept apart from the CLI module so the CLI
needs nothing from the agent package.
"""

from __future__ import annotations

from typing import Any


def tool_detail(step: dict[str, Any]) -> str:
    """`` — web_fetch https://acme.test/pricing: ok, HTTP 200, 4.2 kB, 130 ms`` for a finished tool step,
    else ``""``."""
    name = str(step.get("name") or "")
    memo = step.get("memo")
    if not name.startswith("tool-") or not isinstance(memo, dict):
        return ""
    record = memo.get("data", memo)
    if not isinstance(record, dict) or "status" not in record:
        return ""
    arguments = record.get("input") or {}
    target = next((str(v) for v in arguments.values() if isinstance(v, str)), "") if isinstance(arguments, dict) else ""
    parts = [str(record["status"])]
    if record.get("http_status"):
        parts.append(f"HTTP {record['http_status']}")
    if record.get("bytes"):
        parts.append(f"{int(record['bytes']) / 1024:.1f} kB")
    parts.append("cached" if record.get("cached") else f"{int(record.get('duration_ms') or 0)} ms")
    if record.get("error"):
        parts.append(str(record["error"]))
    return f" — {record.get('name')} {target}: {', '.join(parts)}"
