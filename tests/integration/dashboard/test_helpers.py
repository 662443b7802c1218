"""Pure helpers of the dashboard: loopback detection, redirect targets, time parsing, rendering filters,
the step/attempt matching and the waterfall geometry."""

from __future__ import annotations

from typing import Any

import pytest

from marketing_agent.engine.dashboard import render, views
from marketing_agent.engine.dashboard.pages import _safe_next
from marketing_agent.engine.http import auth
from marketing_agent.engine.store.inspect import ulid_floor, ulid_ms


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("localhost", True), ("10.0.0.2", False),
     ("203.0.113.9", False), (None, False), ("", False), ("example.com", False)],
)  # fmt: skip
def test_is_loopback(host: str | None, loopback: bool) -> None:
    assert auth.is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("target", "safe"),
    [("/runs?status=failed", "/runs?status=failed"), ("//evil.example", "/"), ("https://evil.example", "/"),
     ("/\\evil.example", "/"), (None, "/"), ("runs", "/")],
)  # fmt: skip
def test_safe_next(target: str | None, safe: str) -> None:
    assert _safe_next(target) == safe


def test_sessions_hide_the_token_expire_and_are_revoked() -> None:
    value = auth.new_session("secret-token", now=1_000_000)
    assert "secret-token" not in value
    assert auth.new_session("secret-token") != auth.new_session("secret-token")  # one id per login
    assert auth.session_ok("secret-token", value, now=1_000_000 + 60)
    assert not auth.session_ok("other-token", value, now=1_000_000 + 60)  # rotating the token ends it
    assert not auth.session_ok("secret-token", value, now=1_000_000 + auth.SESSION_TTL_S + 1)
    sid, expires, mac = value.split(".")
    assert not auth.session_ok("secret-token", f"{sid}.{int(expires) + 86400}.{mac}", now=1_000_000)
    fresh = auth.new_session("secret-token")
    auth.revoke_session(fresh)
    assert not auth.session_ok("secret-token", fresh)


def test_parse_time_and_ulid_bounds() -> None:
    assert views.parse_time("1970-01-01T00:00:01") == 1000
    assert views.parse_time("2026-01-02T03:04:05+01:00") == views.parse_time("2026-01-02T02:04:05")
    assert views.parse_time("12345") == 12345
    assert views.parse_time("yesterday") is None
    assert views.parse_time("") is None
    assert ulid_ms(ulid_floor(1_795_000_000_123)) == 1_795_000_000_123
    assert ulid_ms("not-a-ulid") is None


def test_render_filters() -> None:
    assert render.dur(None) == "—"
    assert render.dur(250) == "250 ms"
    assert render.dur(1500) == "1.5 s"
    assert render.dur(90_000) == "1.5 min"
    assert render.dur(2 * 3_600_000) == "2.0 h"
    assert str(render.ts(0)) == '<time datetime="1970-01-01T00:00:00.000Z">1970-01-01 00:00:00 UTC</time>'
    assert str(render.status_badge("<b>")) == '<span class="badge s-&lt;b&gt;">&lt;b&gt;</span>'
    assert render.pretty("x" * (render.MAX_JSON_CHARS + 5)).endswith("(5 more characters; see the JSON API)")


def attempt(target: str, started: int, ended: int, outcome: str, step_name: str | None = None) -> dict[str, Any]:
    return {"target": target, "started_at": started, "ended_at": ended, "outcome": outcome, "step_name": step_name,
            "attempt": 0, "error": None}  # fmt: skip


def test_attempts_are_matched_to_their_steps_and_the_waterfall_spans_the_run() -> None:
    run = {
        "queued_at": 1000, "ended_at": 2000, "status": "COMPLETED",
        "steps": [
            {"step_id": "h1", "name": "first", "op": "StepRun", "status": "completed", "started_at": 1100,
             "ended_at": 1300},
            {"step_id": "h2", "name": "second", "op": "StepRun", "status": "completed", "started_at": 1400,
             "ended_at": 1900},
        ],
        "attempts": [
            attempt("step", 1100, 1300, "step_completed"),  # inline execution: matched by end time
            attempt("step", 1400, 1500, "error", step_name="second"),  # an error names its step
            attempt("h2", 1700, 1900, "step_completed"),  # a retry targets the step id
            attempt("step", 1950, 2000, "completed"),  # the final call belongs to the run
        ],
    }  # fmt: skip
    logs = [{"step": "second", "attempt": 1, "message": "hi"}, {"step": "", "attempt": 0, "message": "outside"}]
    steps = views._steps_with_attempts(run, logs, [])
    assert [len(s["attempt_list"]) for s in steps] == [1, 2]
    assert [a["queue_delay"] for a in run["attempts"]] == [100, 100, 200, 50]
    assert steps[1]["logs"] == [logs[0]]
    assert "_attached" not in logs[1]
    waterfall = views._waterfall(run, steps, now=5000)
    run_row, first, second = waterfall["rows"]
    assert run_row["bar"] == {"left": 0.0, "width": 100.0}
    assert len(run_row["segments"]) == 1
    assert first["bar"] == {"left": 10.0, "width": 20.0}
    assert [seg["left"] for seg in second["segments"]] == [40.0, 70.0]
