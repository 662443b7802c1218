"""Read side: the inspection queries of the /v1 API, /v0/gql and the dashboard."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .._ids import now_ms
from .connections import Conn, Database


class ReadOps(Database):
    # ---- read side: inspection queries (the /v1 API, /v0/gql and the dashboard) -------------------

    async def list_apps(self) -> list[dict[str, Any]]:
        async with self._read() as c:
            return await c.fetch(
                "SELECT a.id, a.url, a.sdk, a.framework, a.error, a.created_at, a.synced_at,"
                " (SELECT COUNT(*) FROM functions f WHERE f.app_id = a.id AND f.active = 1) AS function_count"
                " FROM apps a ORDER BY a.id"
            )

    async def get_app(self, app_id: str) -> dict[str, Any] | None:
        async with self._read() as c:
            row = await c.fetchrow(
                "SELECT id, url, sdk, framework, config, error, created_at, synced_at FROM apps WHERE id = ?", app_id
            )
        if row:
            row["config"] = json.loads(row["config"])
        return row

    async def list_functions(self, app_id: str | None = None, include_inactive: bool = False) -> list[dict[str, Any]]:
        sql = "SELECT id, app_id, name, config, active, created_at, updated_at FROM functions WHERE 1 = 1"
        args: list[Any] = []
        if app_id:
            sql += " AND app_id = ?"
            args.append(app_id)
        if not include_inactive:
            sql += " AND active = 1"
        async with self._read() as c:
            rows = await c.fetch(sql + " ORDER BY app_id, id", *args)
        for r in rows:
            r["config"] = json.loads(r["config"])
            r["active"] = bool(r["active"])
        return rows

    async def get_function(self, function_id: str) -> dict[str, Any] | None:
        async with self._read() as c:
            row = await c.fetchrow(
                "SELECT id, app_id, name, config, active, created_at, updated_at FROM functions WHERE id = ?",
                function_id,
            )
        if row:
            row["config"] = json.loads(row["config"])
            row["active"] = bool(row["active"])
        return row

    async def list_runs(
        self,
        *,
        status: Sequence[str] | None = None,
        function_id: str | None = None,
        app_id: str | None = None,
        event_id: str | None = None,
        since: int | None = None,
        until: int | None = None,
        time_field: str = "queued_at",
        cursor: str | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        """Runs newest first. ``cursor`` is the last run id of the previous page (ids are ULIDs)."""
        if time_field not in ("queued_at", "started_at", "ended_at"):
            time_field = "queued_at"
        sql = (
            "SELECT id, function_id, app_id, event_id, status, output, queued_at, started_at, ended_at,"
            " parent_run_id, cron, rerun_of, step_count FROM runs WHERE 1 = 1"
        )
        args: list[Any] = []
        if status:
            sql += f" AND status IN ({','.join('?' * len(status))})"
            args.extend(status)
        for col, val in (("function_id", function_id), ("app_id", app_id), ("event_id", event_id)):
            if val:
                sql += f" AND {col} = ?"
                args.append(val)
        if since is not None:
            sql += f" AND {time_field} >= ?"
            args.append(since)
        if until is not None:
            sql += f" AND {time_field} < ?"
            args.append(until)
        if cursor:
            sql += " AND id < ?"
            args.append(cursor)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(max(1, min(limit, 500)))
        async with self._read() as c:
            return await c.fetch(sql, *args)

    async def count_runs(self, status: str | None = None) -> int:
        async with self._read() as c:
            if status:
                row = await c.fetchrow("SELECT COUNT(*) AS n FROM runs WHERE status = ?", status)
            else:
                row = await c.fetchrow("SELECT COUNT(*) AS n FROM runs")
        return int(row["n"]) if row else 0

    async def get_run(self, run_id: str) -> dict[str, Any] | None:
        """A run with its trigger events, every step (in order) and every attempt."""
        async with self._read() as c:
            run = await c.fetchrow(
                "SELECT id, function_id, app_id, event_id, events, status, output, queued_at, started_at,"
                " ended_at, parent_run_id, correlation_id, cron, rerun_of, step_count, state_bytes"
                " FROM runs WHERE id = ?",
                run_id,
            )
            if run is None:
                return None
            steps = await c.fetch(
                "SELECT step_id, seq, name, op, status, memo, has_memo, opts, attempts, started_at, ended_at"
                " FROM steps WHERE run_id = ? ORDER BY seq",
                run_id,
            )
            attempts = await c.fetch(
                "SELECT id, target, step_name, attempt, started_at, ended_at, status_code, outcome, error"
                " FROM attempts WHERE run_id = ? ORDER BY started_at, id",
                run_id,
            )
        run["events"] = json.loads(run["events"])
        for s in steps:
            s["memo"] = json.loads(s["memo"]) if s["has_memo"] and s["memo"] is not None else None
            s["has_memo"] = bool(s["has_memo"])
            s["opts"] = json.loads(s["opts"]) if s["opts"] else None
        for a in attempts:
            a["error"] = json.loads(a["error"]) if a["error"] else None
        run["steps"] = steps
        run["attempts"] = attempts
        return run

    async def get_step(self, run_id: str, step_id: str) -> dict[str, Any] | None:
        async with self._read() as c:
            row = await c.fetchrow(
                "SELECT step_id, seq, name, op, status, memo, has_memo, attempts, started_at, ended_at"
                " FROM steps WHERE run_id = ? AND step_id = ?",
                run_id, step_id,
            )  # fmt: skip
        if row:
            row["memo"] = json.loads(row["memo"]) if row["has_memo"] and row["memo"] is not None else None
        return row

    async def list_events(
        self,
        *,
        name: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
        since: int | None = None,
        until: int | None = None,
    ) -> list[dict[str, Any]]:
        """Events newest first, each with the ids and statuses of the runs it triggered."""
        sql = "SELECT id, name, payload, user_id, ts, received_at, duplicate FROM events WHERE 1 = 1"
        args: list[Any] = []
        if name:
            sql += " AND name = ?"
            args.append(name)
        if since is not None:
            sql += " AND received_at >= ?"
            args.append(since)
        if until is not None:
            sql += " AND received_at < ?"
            args.append(until)
        if cursor:
            sql += " AND id < ?"
            args.append(cursor)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(max(1, min(limit, 500)))
        async with self._read() as c:
            rows = await c.fetch(sql, *args)
            await self._attach_runs(c, rows)
        return rows

    async def get_event(self, event_id: str) -> dict[str, Any] | None:
        async with self._read() as c:
            row = await c.fetchrow(
                "SELECT id, name, payload, user_id, ts, received_at, duplicate FROM events WHERE id = ?", event_id
            )
            if row is None:
                return None
            await self._attach_runs(c, [row])
        return row

    async def _attach_runs(self, c: Conn, rows: list[dict[str, Any]]) -> None:
        for r in rows:
            r["payload"] = json.loads(r["payload"])
            r["duplicate"] = bool(r["duplicate"])
            r["runs"] = await c.fetch(
                "SELECT id, function_id, status, queued_at, ended_at FROM runs WHERE event_id = ? ORDER BY id",
                r["id"],
            )

    async def queue_depth(self) -> dict[str, int]:
        now = now_ms()
        async with self._read() as c:
            row = await c.fetchrow(
                "SELECT COUNT(*) AS total, SUM(CASE WHEN available_at <= ? THEN 1 ELSE 0 END) AS ready,"
                " SUM(CASE WHEN lease_owner IS NOT NULL AND lease_until >= ? THEN 1 ELSE 0 END) AS leased"
                " FROM queue",
                now, now,
            )  # fmt: skip
        return {k: int(row[k] or 0) for k in ("total", "ready", "leased")} if row else {}
