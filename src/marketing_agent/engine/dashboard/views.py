"""Page data: plain dicts built from the engine's query API (``Store`` read methods, ``store/inspect.py``).

Each page handler renders one of these dicts with a template, or returns it as JSON when the client asks
for ``application/json`` — so the JSON behind every page is the page's exact data, and tests can check it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from .._ids import now_ms
from ..service import EngineService
from ..store import inspect as si

HOUR_MS = 3_600_000
RANGES = {"15m": 15 * 60_000, "1h": HOUR_MS, "24h": 24 * HOUR_MS, "7d": 7 * 24 * HOUR_MS}
_FLOW_KEYS = ("concurrency", "throttle", "rateLimit", "debounce", "batchEvents", "priority", "idempotency",
              "singleton", "cancel", "timeouts", "retries")  # fmt: skip


def parse_time(text: str | None) -> int | None:
    """``2026-01-02T03:04`` (UTC, as a datetime-local input sends it) or epoch ms → epoch ms."""
    if not text:
        return None
    if text.isdigit():
        return int(text)
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


async def overview(svc: EngineService, hours: int = 24) -> dict[str, Any]:
    now = now_ms()
    bucket_ms = HOUR_MS if hours > 6 else 5 * 60_000
    start = (now - hours * HOUR_MS) // bucket_ms * bucket_ms
    rows = await si.runs_over_time(svc.store, start, bucket_ms)
    buckets: dict[int, dict[str, int]] = {}
    for b in range(start, now + 1, bucket_ms):
        buckets[b] = {}
    for r in rows:
        buckets.setdefault(r["bucket"], {})[r["status"]] = r["count"]
    series: list[dict[str, Any]] = [
        {"at": at, "counts": counts, "total": sum(counts.values())} for at, counts in sorted(buckets.items())
    ]
    finished = sum(x["counts"].get("COMPLETED", 0) + x["counts"].get("FAILED", 0) for x in series)
    failed = sum(x["counts"].get("FAILED", 0) for x in series)
    return {
        "hours": hours,
        "bucket_ms": bucket_ms,
        "series": series,
        "max_bucket": max([x["total"] for x in series] + [1]),
        "by_status": await si.runs_by_status(svc.store),
        "failure_rate": (failed / finished) if finished else None,
        "failed_in_window": failed,
        "finished_in_window": finished,
        "queue": await svc.store.queue_depth(),
        "queue_by_function": await si.queue_by_function(svc.store),
        "recent_failures": [
            {**f, "error": _error_of(f.pop("output", None))} for f in await si.recent_failures(svc.store)
        ],
    }


async def apps(svc: EngineService) -> dict[str, Any]:
    return {"apps": await svc.store.list_apps()}


async def functions(svc: EngineService) -> dict[str, Any]:
    rows = await svc.store.list_functions(include_inactive=True)
    counts = await si.function_run_counts(svc.store, now_ms() - 24 * HOUR_MS)
    return {
        "functions": [
            {**f, "triggers": f["config"].get("triggers") or [], "runs_24h": counts.get(f["id"], {})} for f in rows
        ]
    }


async def function(svc: EngineService, function_id: str) -> dict[str, Any] | None:
    fn = await svc.store.get_function(function_id)
    if fn is None:
        return None
    cfg = fn["config"]
    steps = cfg.get("steps") or {}
    return {
        "function": fn,
        "triggers": cfg.get("triggers") or [],
        "flow": {k: cfg[k] for k in _FLOW_KEYS if cfg.get(k) not in (None, [], {})},
        "retries": _retries(steps),
        "config_json": json.dumps(cfg, indent=2, sort_keys=True),
        "recent": await si.list_runs(svc.store, function_id=function_id, limit=10),
    }


def _retries(steps: dict[str, Any]) -> int | None:
    """Retries per step from the SDK's ``steps.<name>.retries.attempts`` (None: the default)."""
    for step in steps.values():
        retries = step.get("retries") if isinstance(step, dict) else None
        if isinstance(retries, dict) and isinstance(retries.get("attempts"), int):
            return int(retries["attempts"])
    return None


async def runs(svc: EngineService, params: dict[str, Any]) -> dict[str, Any]:
    statuses = [s for s in params.get("status", []) if s in si.DISPLAY_STATUSES]
    since = parse_time(params.get("from"))
    until = parse_time(params.get("to"))
    rng = params.get("range") or ""
    if rng in RANGES and since is None:
        since = now_ms() - RANGES[rng]
    limit = 50
    rows = await si.list_runs(
        svc.store, statuses=statuses, function_id=params.get("function") or None, since=since, until=until,
        q=(params.get("q") or "").strip() or None, cursor=params.get("cursor") or None, limit=limit,
    )  # fmt: skip
    for r in rows:
        r["duration"] = (r["ended_at"] - (r["started_at"] or r["queued_at"])) if r["ended_at"] else None
    return {
        "runs": rows,
        "next_cursor": rows[-1]["id"] if len(rows) == limit else None,
        "filters": {
            "status": statuses,
            "function": params.get("function") or "",
            "q": params.get("q") or "",
            "range": rng,
            "from": params.get("from") or "",
            "to": params.get("to") or "",
            "cursor": params.get("cursor") or "",
        },
        "statuses": si.DISPLAY_STATUSES,
        "function_ids": [f["id"] for f in await svc.store.list_functions(include_inactive=True)],
    }


async def run(svc: EngineService, run_id: str) -> dict[str, Any] | None:
    data = await svc.store.get_run(run_id)
    if data is None:
        return None
    status = await si.run_status(svc.store, run_id) or data["status"]
    extras = await si.run_extras(svc.store, run_id)
    logs = await si.logs_for_run(svc.store, run_id)
    now = now_ms()
    output: Any = None
    if data["output"] is not None:
        try:
            output = json.loads(data["output"])
        except ValueError:
            output = data["output"]
    steps = _steps_with_attempts(data, logs, extras["queue"])
    return {
        "run": {k: v for k, v in data.items() if k not in ("steps", "attempts", "output")},
        "status": status,
        "active": data["status"] in ("QUEUED", "RUNNING"),
        "output": output,
        "error": output if status == "FAILED" and isinstance(output, dict) else None,
        "steps": steps,
        "calls": [a for a in data["attempts"] if a.get("_step") is None],
        "waterfall": _waterfall(data, steps, now),
        "logs_unattached": [line for line in logs if not line.get("_attached")],
        "log_count": len(logs),
        **extras,
    }


async def events(svc: EngineService, name: str | None, cursor: str | None) -> dict[str, Any]:
    rows = await svc.store.list_events(name=name or None, cursor=cursor or None, limit=50)
    await with_display_statuses(svc, rows)
    return {"events": rows, "next_cursor": rows[-1]["id"] if len(rows) == 50 else None, "name": name or ""}


async def with_display_statuses(svc: EngineService, events: list[dict[str, Any]]) -> None:
    """Replace the stored status of each event's runs by the displayed one (RUNNING may be WAITING)."""
    running = [r["id"] for e in events for r in e["runs"] if r["status"] == "RUNNING"]
    shown = await si.display_statuses(svc.store, running)
    for e in events:
        for r in e["runs"]:
            r["status"] = shown.get(r["id"], r["status"])


# ---- run detail helpers ------------------------------------------------------------------------------


def _error_of(output: str | None) -> str:
    if not output:
        return ""
    try:
        err = json.loads(output)
    except ValueError:
        return output[:200]
    if isinstance(err, dict):
        return f"{err.get('name', 'Error')}: {err.get('message', '')}"[:200]
    return str(err)[:200]


def _steps_with_attempts(
    data: dict[str, Any], logs: list[dict[str, Any]], queue: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each step with its attempts, pending retry, and log lines.

    An attempt belongs to a step when its target is the step's id; a step run inline by a discovery call
    (target ``step``) is found by its display name (errors) or by its end time (the memo is written with the
    attempt's end time).
    """
    steps = [dict(s, attempt_list=[], logs=[]) for s in data["steps"]]
    by_id = {s["step_id"]: s for s in steps}
    for a in data["attempts"]:
        owner = by_id.get(a["target"])
        if owner is None and a["target"] == "step":
            owner = next((s for s in steps if a.get("step_name") and s["name"] == a["step_name"]), None)
            if owner is None and a["outcome"] in ("step_completed", "step_failed"):
                owner = next((s for s in steps if s["ended_at"] == a["ended_at"]), None)
        a["_step"] = owner["step_id"] if owner else None
        if owner is not None:
            owner["attempt_list"].append(a)
    prev_end = data["queued_at"]
    for a in data["attempts"]:
        a["queue_delay"] = max(0, a["started_at"] - prev_end)
        a["duration"] = a["ended_at"] - a["started_at"]
        prev_end = a["ended_at"]
    for s in steps:
        s["next_attempt"] = next(
            (q for q in queue if q["target"] == s["step_id"] and q["kind"] == "call" and q["attempt"] > 0),
            None,
        )
        if s["status"] == "retrying" and s["next_attempt"] is None:
            s["next_attempt"] = next((q for q in queue if q["kind"] == "call" and q["attempt"] > 0), None)
        s["wake"] = next((q["available_at"] for q in queue if q["target"] == s["step_id"]), None)
    by_name: dict[str, dict[str, Any]] = {}
    for s in steps:
        by_name.setdefault(s["name"], s)
    for line in logs:
        owner = by_name.get(line["step"])
        if owner is not None:
            owner["logs"].append(line)
            line["_attached"] = True
    return steps


def _waterfall(data: dict[str, Any], steps: list[dict[str, Any]], now: int) -> dict[str, Any]:
    """Bars as percentages of the run's span: the run (with its calls), then each step and its attempts."""
    start = data["queued_at"]
    end = data["ended_at"] or now
    span = max(1, end - start)

    def bar(a: int, b: int | None) -> dict[str, float]:
        b = b if b is not None else now
        left = min(100.0, max(0.0, (a - start) * 100 / span))
        width = max(0.4, min(100.0 - left, (b - a) * 100 / span))
        return {"left": round(left, 2), "width": round(width, 2)}

    rows: list[dict[str, Any]] = [{
        "label": "run", "kind": "run", "status": data["status"].lower(), "bar": bar(start, data["ended_at"]),
        "duration": (data["ended_at"] or now) - start,
        "segments": [dict(bar(a["started_at"], a["ended_at"]), outcome=a["outcome"])
                     for a in data["attempts"] if a["_step"] is None],
    }]  # fmt: skip
    for s in steps:
        rows.append({
            "label": s["name"], "kind": s["op"], "status": s["status"], "step_id": s["step_id"],
            "bar": bar(s["started_at"], s["ended_at"]),
            "duration": (s["ended_at"] or now) - s["started_at"],
            "segments": [dict(bar(a["started_at"], a["ended_at"]), outcome=a["outcome"])
                         for a in s["attempt_list"]],
        })  # fmt: skip
    return {"start": start, "end": end, "span": span, "rows": rows}
