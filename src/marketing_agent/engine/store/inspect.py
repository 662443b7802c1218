"""The store's second SQL module: read-side aggregates for the dashboard and ``/metrics``, step log lines,
retention deletes and a bulk insert for benchmarks.

``queue``, ``runs`` and ``apps`` hold every statement of the execution path; this module only adds
queries that the execution path never runs, through the same connections (``Store._read`` /
``Store.transaction``) and the same ``?`` placeholders. Its one table, ``step_logs``, and its read-side
indexes (named ``dash_*``) are schema version 4 in ``schema.py``.

Statuses: the store keeps QUEUED / RUNNING / COMPLETED / FAILED / CANCELLED (and SKIPPED when flow control
records a skipped run). The dashboard also shows WAITING: a RUNNING run whose only pending work is a sleep,
a wait for an event or an invoke. :data:`STATUS_SQL` derives it in SQL, and every list, detail and metric
reads the status through it, so the runs list and the run page can never disagree.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

from ulid import ULID

from .._ids import new_ulid, now_ms
from .facade import Store

#: Every status the dashboard shows, in the order of its filters.
DISPLAY_STATUSES = ("QUEUED", "RUNNING", "WAITING", "COMPLETED", "FAILED", "CANCELLED", "SKIPPED")
FINISHED_STATUSES = ("COMPLETED", "FAILED", "CANCELLED", "SKIPPED")
_PARKED = "('sleeping', 'waiting', 'invoking')"
_PARKED_EXISTS = f"EXISTS (SELECT 1 FROM steps s WHERE s.run_id = r.id AND s.status IN {_PARKED})"
_PENDING_EXISTS = "EXISTS (SELECT 1 FROM steps s WHERE s.run_id = r.id AND s.status IN ('planned', 'retrying'))"
#: The one definition of a run's displayed status (needs the run table aliased ``r``).
STATUS_SQL = (
    f"CASE WHEN r.status = 'RUNNING' AND {_PARKED_EXISTS} AND NOT {_PENDING_EXISTS} THEN 'WAITING' ELSE r.status END"
)
_STATUS_WHERE = {
    "WAITING": f"(r.status = 'RUNNING' AND {_PARKED_EXISTS} AND NOT {_PENDING_EXISTS})",
    "RUNNING": f"(r.status = 'RUNNING' AND NOT ({_PARKED_EXISTS} AND NOT {_PENDING_EXISTS}))",
}
MAX_LOG_LINES_PER_RUN = 5000


def ulid_floor(ms: int) -> str:
    """The smallest ULID of millisecond ``ms``: run ids embed their queue time, so times map to ids."""
    return str(ULID.from_bytes(max(0, ms).to_bytes(6, "big") + b"\0" * 10))


def ulid_ms(text: str) -> int | None:
    try:
        return int(ULID.from_str(text).milliseconds)
    except ValueError:
        return None


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


# ---- runs ----------------------------------------------------------------------------------------------


async def list_runs(
    store: Store,
    *,
    statuses: Sequence[str] = (),
    function_id: str | None = None,
    since: int | None = None,
    until: int | None = None,
    q: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Runs newest first with their displayed status; keyset pagination on the run id (``cursor``).

    Order and ranges use ``queued_at``, so the (status|function_id, queued_at) indexes serve every filter; the
    cursor's queue time is read from the id itself (a run id is the ULID of its queue time).
    """
    sql = (
        f"SELECT r.id, r.function_id, r.app_id, r.event_id, {STATUS_SQL} AS status, r.queued_at,"
        " r.started_at, r.ended_at, r.cron, r.rerun_of, r.step_count, e.name AS event_name"
        " FROM runs r LEFT JOIN events e ON e.id = r.event_id WHERE 1 = 1"
    )
    args: list[Any] = []
    if statuses:
        parts = []
        for s in statuses:
            if s in _STATUS_WHERE:
                parts.append(_STATUS_WHERE[s])
            else:
                parts.append("r.status = ?")
                args.append(s)
        sql += " AND (" + " OR ".join(parts) + ")"
    if function_id:
        sql += " AND r.function_id = ?"
        args.append(function_id)
    if since is not None:
        sql += " AND r.queued_at >= ?"
        args.append(since)
    if until is not None:
        sql += " AND r.queued_at < ?"
        args.append(until)
    if q:
        sql += " AND (r.id = ? OR r.event_id = ? OR r.events LIKE ? ESCAPE '\\')"
        args += [q, q, _like(q)]
    if cursor:
        at = ulid_ms(cursor)
        if at is not None:
            sql += " AND r.queued_at <= ?"
            args.append(at)
        sql += " AND r.id < ?"
        args.append(cursor)
    sql += " ORDER BY r.queued_at DESC, r.id DESC LIMIT ?"
    args.append(max(1, min(limit, 200)))
    async with store._read() as c:
        return await c.fetch(sql, *args)


async def run_status(store: Store, run_id: str) -> str | None:
    async with store._read() as c:
        row = await c.fetchrow(f"SELECT {STATUS_SQL} AS status FROM runs r WHERE r.id = ?", run_id)
    return str(row["status"]) if row else None


async def display_statuses(store: Store, run_ids: Sequence[str]) -> dict[str, str]:
    """Displayed status of each run (for pages that got runs from ``Store`` read methods)."""
    if not run_ids:
        return {}
    marks = ",".join("?" * len(run_ids))
    async with store._read() as c:
        rows = await c.fetch(f"SELECT r.id, {STATUS_SQL} AS status FROM runs r WHERE r.id IN ({marks})", *run_ids)
    return {r["id"]: r["status"] for r in rows}


async def run_extras(store: Store, run_id: str) -> dict[str, Any]:
    """What the run page adds to ``Store.get_run``: scheduled queue items, open pauses, child runs."""
    async with store._read() as c:
        queue = await c.fetch(
            "SELECT kind, target, attempt, available_at, lease_owner FROM queue WHERE run_id = ? ORDER BY available_at",
            run_id,
        )
        pauses = await c.fetch(
            "SELECT kind, step_id, event_name, expression, expires_at, created_at FROM pauses"
            " WHERE run_id = ? ORDER BY created_at",
            run_id,
        )
        children = await c.fetch(
            f"SELECT r.id, r.function_id, {STATUS_SQL} AS status FROM runs r WHERE r.parent_run_id = ?"
            " ORDER BY r.id LIMIT 50",
            run_id,
        )
        reruns = await c.fetch("SELECT id FROM runs WHERE rerun_of = ? ORDER BY id LIMIT 20", run_id)
    return {"queue": queue, "pauses": pauses, "children": children, "reruns": [r["id"] for r in reruns]}


# ---- overview and metrics ------------------------------------------------------------------------------


async def runs_over_time(store: Store, since: int, bucket_ms: int) -> list[dict[str, Any]]:
    """(bucket start, stored status, count) for runs queued since ``since``."""
    async with store._read() as c:
        rows = await c.fetch(
            "SELECT (queued_at - ?) / ? AS b, status, COUNT(*) AS n FROM runs WHERE id >= ?"
            " GROUP BY b, status",
            since, bucket_ms, ulid_floor(since),
        )  # fmt: skip
    return [{"bucket": since + int(r["b"]) * bucket_ms, "status": r["status"], "count": int(r["n"])} for r in rows]


async def runs_by_status(store: Store) -> dict[str, int]:
    """Every run in the store by displayed status (WAITING is counted among the RUNNING ones only)."""
    async with store._read() as c:
        rows = await c.fetch("SELECT status, COUNT(*) AS n FROM runs GROUP BY status")
        waiting = await c.fetchrow(f"SELECT COUNT(*) AS n FROM runs r WHERE {_STATUS_WHERE['WAITING']}")
    out = dict.fromkeys(DISPLAY_STATUSES, 0)
    for r in rows:
        out[str(r["status"])] = int(r["n"])
    out["WAITING"] = int(waiting["n"]) if waiting else 0
    out["RUNNING"] = max(0, out["RUNNING"] - out["WAITING"])
    return out


async def queue_by_function(store: Store) -> list[dict[str, Any]]:
    """Queue items per function: ready (due now), delayed (due later: sleeps, retries, throttle), leased."""
    now = now_ms()
    async with store._read() as c:
        rows = await c.fetch(
            "SELECT q.function_id,"
            " SUM(CASE WHEN q.available_at <= ? AND (q.lease_owner IS NULL OR q.lease_until < ?)"
            " THEN 1 ELSE 0 END) AS ready,"
            " SUM(CASE WHEN q.available_at > ? AND q.lease_owner IS NULL THEN 1 ELSE 0 END) AS delayed,"
            " SUM(CASE WHEN q.lease_owner IS NOT NULL AND q.lease_until >= ? THEN 1 ELSE 0 END) AS leased"
            " FROM (SELECT (SELECT r.function_id FROM runs r WHERE r.id = q0.run_id) AS function_id, q0.*"
            " FROM queue q0) q WHERE q.function_id IS NOT NULL GROUP BY q.function_id ORDER BY q.function_id",
            now, now, now, now,
        )  # fmt: skip
    # (A plain join lets SQLite walk all runs to probe the queue; the per-item lookup costs O(queue).)
    return [{k: (int(v or 0) if k != "function_id" else v) for k, v in r.items()} for r in rows]


async def recent_failures(store: Store, limit: int = 10) -> list[dict[str, Any]]:
    async with store._read() as c:
        return await c.fetch(
            "SELECT id, function_id, queued_at, ended_at, output FROM runs WHERE status = 'FAILED'"
            " ORDER BY queued_at DESC LIMIT ?",
            limit,
        )


async def function_run_counts(store: Store, since: int) -> dict[str, dict[str, int]]:
    async with store._read() as c:
        rows = await c.fetch(
            # LIMIT keeps SQLite from flattening the window into a walk of the whole function index.
            "SELECT function_id, status, COUNT(*) AS n FROM (SELECT function_id, status FROM runs WHERE queued_at >= ?"
            " LIMIT 10000000) w GROUP BY function_id, status",
            since,
        )
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        out.setdefault(r["function_id"], {})[r["status"]] = int(r["n"])
    return out


async def attempts_after(store: Store, cursor: str, upto: str, limit: int = 5000) -> list[dict[str, Any]]:
    """Attempts with ``cursor < id < upto`` (ULIDs of their record time), oldest first: the metrics tail."""
    async with store._read() as c:
        return await c.fetch(
            "SELECT a.id, a.attempt, a.outcome, a.started_at, a.ended_at, r.function_id FROM attempts a"
            " LEFT JOIN runs r ON r.id = a.run_id WHERE a.id > ? AND a.id < ? ORDER BY a.id LIMIT ?",
            cursor, upto, limit,
        )  # fmt: skip


async def events_received_between(store: Store, start: int, end: int) -> int:
    async with store._read() as c:
        row = await c.fetchrow(
            "SELECT COUNT(*) AS n FROM events WHERE received_at >= ? AND received_at < ?", start, end
        )
    return int(row["n"]) if row else 0


# ---- step logs -----------------------------------------------------------------------------------------


async def insert_logs(store: Store, run_id: str, lines: Sequence[dict[str, Any]]) -> int:
    """Store log lines shipped by the SDK middleware, capped per run (a chatty loop must not fill a disk)."""
    async with store.transaction() as tx:
        row = await tx.fetchrow("SELECT COUNT(*) AS n FROM step_logs WHERE run_id = ?", run_id)
        room = MAX_LOG_LINES_PER_RUN - (int(row["n"]) if row else 0)
        keep = list(lines)[: max(0, room)]
        rows = [
            (
                str(ULID.from_bytes(int(line["ts"]).to_bytes(6, "big") + os.urandom(10))), run_id,
                str(line["step"]), int(line["attempt"]), int(line["ts"]), str(line["level"]),
                str(line["logger"]), str(line["message"]),
            )
            for line in keep
        ]  # fmt: skip
        if rows:
            await tx.executemany(
                "INSERT INTO step_logs (id, run_id, step, attempt, ts, level, logger, message)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
    return len(rows)


async def logs_for_run(store: Store, run_id: str) -> list[dict[str, Any]]:
    async with store._read() as c:
        return await c.fetch(
            "SELECT step, attempt, ts, level, logger, message FROM step_logs WHERE run_id = ?"
            " ORDER BY id LIMIT ?",
            run_id, MAX_LOG_LINES_PER_RUN,
        )  # fmt: skip


# ---- retention -----------------------------------------------------------------------------------------


async def prune_runs(store: Store, cutoff: int, batch: int) -> int:
    """Delete up to ``batch`` runs that ended before ``cutoff``, with their steps, attempts and logs."""
    marks = ",".join("?" * len(FINISHED_STATUSES))
    async with store.transaction() as tx:
        # queued_at <= ended_at, so the (status, queued_at) index narrows the scan before ended_at is checked.
        rows = await tx.fetch(
            f"SELECT id FROM runs WHERE status IN ({marks}) AND queued_at < ? AND ended_at < ? LIMIT ?",
            *FINISHED_STATUSES, cutoff, cutoff, batch,
        )  # fmt: skip
        ids = [r["id"] for r in rows]
        if not ids:
            return 0
        in_ids = ",".join("?" * len(ids))
        for table in ("steps", "attempts", "step_logs", "pauses", "queue"):
            await tx.execute(f"DELETE FROM {table} WHERE run_id IN ({in_ids})", *ids)
        await tx.execute(f"DELETE FROM runs WHERE id IN ({in_ids})", *ids)
    return len(ids)


async def prune_events(store: Store, cutoff: int, batch: int) -> int:
    """Delete up to ``batch`` events received before ``cutoff`` that no unfinished run still points at."""
    marks = ",".join("?" * len(FINISHED_STATUSES))
    async with store.transaction() as tx:
        rows = await tx.fetch(
            "SELECT e.id FROM events e WHERE e.received_at < ? AND NOT EXISTS (SELECT 1 FROM runs r"
            f" WHERE r.event_id = e.id AND r.status NOT IN ({marks})) LIMIT ?",
            cutoff, *FINISHED_STATUSES, batch,
        )  # fmt: skip
        ids = [r["id"] for r in rows]
        if ids:
            await tx.execute(f"DELETE FROM events WHERE id IN ({','.join('?' * len(ids))})", *ids)
        await tx.execute("DELETE FROM event_dedup WHERE expires_at < ?", now_ms())
    return len(ids)


# ---- benchmarks ----------------------------------------------------------------------------------------


async def bulk_insert_runs(store: Store, runs: Sequence[dict[str, Any]]) -> None:
    """Insert finished runs (with one step and one attempt each, and their trigger event when ``event_id`` is
    set) in one transaction: benchmark fixtures."""
    async with store.transaction() as tx:
        await tx.executemany(
            "INSERT INTO events (id, name, payload, ts, received_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO NOTHING",
            [
                (r["event_id"], r["events"][0].get("name", ""), json.dumps(r["events"][0]), r["queued_at"],
                 r["queued_at"])
                for r in runs
                if r.get("event_id") and r["events"]
            ],
        )  # fmt: skip
        await tx.executemany(
            "INSERT INTO runs (id, function_id, app_id, event_id, events, status, output, queued_at,"
            " started_at, ended_at, step_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
            [
                (r["id"], r["function_id"], r["app_id"], r.get("event_id"), json.dumps(r["events"]),
                 r["status"], json.dumps(r.get("output")), r["queued_at"], r["queued_at"] + 5,
                 r["queued_at"] + 40)
                for r in runs
            ],
        )  # fmt: skip
        await tx.executemany(
            "INSERT INTO steps (run_id, step_id, seq, name, op, status, memo, has_memo, attempts, started_at,"
            " ended_at) VALUES (?, 'step-1', 0, 'work', 'StepRun', 'completed', '1', 1, 1, ?, ?)",
            [(r["id"], r["queued_at"] + 5, r["queued_at"] + 30) for r in runs],
        )
        await tx.executemany(
            "INSERT INTO attempts (id, run_id, target, step_name, attempt, started_at, ended_at, status_code,"
            " outcome) VALUES (?, ?, 'step-1', 'work', 0, ?, ?, 206, 'step')",
            [(new_ulid(r["queued_at"] + 30), r["id"], r["queued_at"] + 5, r["queued_at"] + 30) for r in runs],
        )
