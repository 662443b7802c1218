"""Jinja2 environment of the dashboard: package templates, autoescaping, and the display filters."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

MAX_JSON_CHARS = 64 * 1024


def ts(ms: int | None) -> Markup:
    """A ``<time>`` element: UTC text for readers without JavaScript, converted to local time by dash.js."""
    if ms is None:
        return Markup("—")
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    iso = dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return Markup('<time datetime="{}">{}</time>').format(iso, dt.strftime("%Y-%m-%d %H:%M:%S UTC"))


def dur(ms: int | float | None) -> str:
    if ms is None:
        return "—"
    ms = float(ms)
    if ms < 1000:
        return f"{ms:.0f} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    if ms < 3_600_000:
        return f"{ms / 60_000:.1f} min"
    if ms < 86_400_000:
        return f"{ms / 3_600_000:.1f} h"
    return f"{ms / 86_400_000:.1f} d"


def pretty(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, indent=2, sort_keys=True, default=str)
    if len(text) > MAX_JSON_CHARS:
        return text[:MAX_JSON_CHARS] + f"\n… ({len(text) - MAX_JSON_CHARS} more characters; see the JSON API)"
    return text


def status_badge(status: str | None) -> Markup:
    s = (status or "unknown").lower()
    return Markup('<span class="badge s-{}">{}</span>').format(escape(s), escape(s))


def make_env() -> Environment:
    env = Environment(
        loader=PackageLoader("marketing_agent.engine.dashboard", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(ts=ts, dur=dur, pretty=pretty, badge=status_badge)
    return env
