"""Events, runs, steps, attempts and pauses: the writes of the execution path."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .._ids import new_ulid
from .._json import dumps
from .connections import Conn, Database
from .records import (
    ACTIVE_STATUSES,
    PENDING_STEP_STATUSES,
    RUN_COLUMNS,
    CallState,
    QueueItem,
    QueueKind,
    RunRecord,
    StepRecord,
    StepStatus,
)


class RunOps(Database):
    # ---- events -----------------------------------------------------------------------------------

    async def insert_event(
        self,
        tx: Conn,
        event_id: str,
        name: str,
        payload: dict[str, Any],
        user_id: str | None,
        ts: int,
        received_at: int,
    ) -> bool:
        """Insert an event; False when it is a duplicate (same user id within 24 h, or same id resent)."""
        duplicate = False
        if user_id:
            row = await tx.fetchrow("SELECT event_id, expires_at FROM event_dedup WHERE key = ?", user_id)
            if row is not None and int(row["expires_at"]) > received_at:
                duplicate = True
            else:
                await tx.execute(
                    "INSERT INTO event_dedup (key, event_id, expires_at) VALUES (?, ?, ?) ON CONFLICT (key)"
                    " DO UPDATE SET event_id = excluded.event_id, expires_at = excluded.expires_at",
                    user_id, event_id, received_at + 24 * 3_600_000,
                )  # fmt: skip
        n = await tx.execute(
            "INSERT INTO events (id, name, payload, user_id, ts, received_at, duplicate) VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO NOTHING",
            event_id, name, dumps(payload), user_id, ts, received_at, 1 if duplicate else 0,
        )  # fmt: skip
        return n == 1 and not duplicate

    # ---- runs -------------------------------------------------------------------------------------

    async def create_run(
        self,
        tx: Conn,
        *,
        run_id: str,
        function_id: str,
        app_id: str,
        event_id: str | None,
        events: list[dict[str, Any]],
        now: int,
        parent_run_id: str | None = None,
        correlation_id: str | None = None,
        cron: str | None = None,
        rerun_of: str | None = None,
        status: str = "QUEUED",
    ) -> None:
        await tx.execute(
            "INSERT INTO runs (id, function_id, app_id, event_id, events, status, queued_at, parent_run_id,"
            " correlation_id, cron, rerun_of) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            run_id, function_id, app_id, event_id, dumps(events), status, now, parent_run_id,
            correlation_id, cron, rerun_of,
        )  # fmt: skip

    async def lock_run(self, tx: Conn, run_id: str) -> RunRecord | None:
        """The run, locked for the rest of the transaction (PostgreSQL: ``FOR UPDATE``)."""
        suffix = " FOR UPDATE" if self.is_postgres else ""
        row = await tx.fetchrow(f"SELECT {RUN_COLUMNS} FROM runs WHERE id = ?" + suffix, run_id)
        return None if row is None else RunRecord.from_row(row)

    async def load_call_state(self, run_id: str) -> CallState | None:
        """What the next call of the run is built from (None: no such run)."""
        async with self._read() as c:
            row = await c.fetchrow(f"SELECT {RUN_COLUMNS} FROM runs WHERE id = ?", run_id)
            if row is None:
                return None
            rows = await c.fetch(
                "SELECT step_id, memo, has_memo, status FROM steps WHERE run_id = ? ORDER BY seq", run_id
            )
        memos = tuple((r["step_id"], r["memo"] if r["memo"] is not None else "null") for r in rows if r["has_memo"])
        pending = sum(1 for r in rows if r["status"] in PENDING_STEP_STATUSES)
        return CallState(RunRecord.from_row(row), memos, pending)

    async def memos(self, run_id: str) -> dict[str, Any]:
        async with self._read() as c:
            rows = await c.fetch("SELECT step_id, memo FROM steps WHERE run_id = ? AND has_memo = 1", run_id)
        return {r["step_id"]: json.loads(r["memo"]) if r["memo"] is not None else None for r in rows}

    async def run_events(self, run_id: str) -> list[dict[str, Any]] | None:
        async with self._read() as c:
            row = await c.fetchrow("SELECT events FROM runs WHERE id = ?", run_id)
        return None if row is None else json.loads(row["events"])

    async def mark_started(self, tx: Conn, run_id: str, now: int) -> None:
        await tx.execute(
            "UPDATE runs SET status = 'RUNNING', started_at = COALESCE(started_at, ?)"
            " WHERE id = ? AND status = 'QUEUED'",
            now, run_id,
        )  # fmt: skip

    async def set_race(self, tx: Conn, run_id: str) -> None:
        await tx.execute("UPDATE runs SET race = 1 WHERE id = ?", run_id)

    async def finish_run(self, tx: Conn, run_id: str, status: str, output: str | None, now: int) -> None:
        await tx.execute(
            "UPDATE runs SET status = ?, output = ?, ended_at = ?, started_at = COALESCE(started_at, ?) WHERE id = ?",
            status, output, now, now, run_id,
        )  # fmt: skip
        await tx.execute("DELETE FROM queue WHERE run_id = ?", run_id)
        await tx.execute("DELETE FROM pauses WHERE run_id = ?", run_id)
        await tx.execute(
            "UPDATE steps SET status = 'cancelled', ended_at = ? WHERE run_id = ? AND has_memo = 0", now, run_id
        )

    async def add_state(self, tx: Conn, run_id: str, steps: int, nbytes: int) -> None:
        await tx.execute(
            "UPDATE runs SET step_count = step_count + ?, state_bytes = state_bytes + ? WHERE id = ?",
            steps, nbytes, run_id,
        )  # fmt: skip

    # ---- steps and attempts -----------------------------------------------------------------------

    async def step_statuses(self, tx: Conn, run_id: str) -> dict[str, StepStatus]:
        rows = await tx.fetch("SELECT step_id, status FROM steps WHERE run_id = ?", run_id)
        return {r["step_id"]: StepStatus(r["status"]) for r in rows}

    async def pending_steps(self, tx: Conn, run_id: str) -> int:
        marks = ",".join("?" * len(PENDING_STEP_STATUSES))
        row = await tx.fetchrow(
            f"SELECT COUNT(*) AS n FROM steps WHERE run_id = ? AND status IN ({marks})", run_id, *PENDING_STEP_STATUSES
        )
        return int(row["n"]) if row else 0

    async def upsert_step(
        self,
        tx: Conn,
        run_id: str,
        step_id: str,
        *,
        name: str,
        op: str,
        status: str,
        now: int,
        memo: Any = ...,
        opts: dict[str, Any] | None = None,
        attempts: int | None = None,
        started_at: int | None = None,
    ) -> None:
        """Create or update a step row. ``memo`` omitted: no memo yet; any value (incl. None): memoized."""
        has_memo = memo is not ...
        memo_text = dumps(memo) if has_memo else None
        ended = now if has_memo or status in ("completed", "failed") else None
        await tx.execute(
            "INSERT INTO steps (run_id, step_id, seq, name, op, status, memo, has_memo, opts, attempts, started_at,"
            " ended_at) VALUES (?, ?, (SELECT COUNT(*) FROM steps WHERE run_id = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (run_id, step_id) DO UPDATE SET op = excluded.op, status = excluded.status,"
            " memo = CASE WHEN excluded.has_memo = 1 THEN excluded.memo ELSE steps.memo END,"
            " has_memo = CASE WHEN excluded.has_memo = 1 THEN 1 ELSE steps.has_memo END,"
            " attempts = CASE WHEN excluded.attempts > steps.attempts THEN excluded.attempts ELSE steps.attempts END,"
            " ended_at = excluded.ended_at",
            run_id, step_id, run_id, name, op, status, memo_text, 1 if has_memo else 0,
            dumps(opts) if opts is not None else None, attempts or 0, started_at or now, ended,
        )  # fmt: skip

    async def step(self, tx: Conn, run_id: str, step_id: str) -> StepRecord | None:
        row = await tx.fetchrow(
            "SELECT step_id, name, op, status, memo, has_memo, opts FROM steps WHERE run_id = ? AND step_id = ?",
            run_id, step_id,
        )  # fmt: skip
        return None if row is None else StepRecord.from_row(row)

    async def step_run_fast(
        self,
        item: QueueItem,
        step_id: str,
        name: str,
        memo_text: str,
        started: int,
        ended: int,
        status_code: int,
        lease_ms: int,
        max_steps: int,
        max_bytes: int,
    ) -> QueueItem | str | None:
        """PostgreSQL only: record one completed ``step.run`` and queue the next call, in one round trip.

        Returns the next item (leased to this process), None (recorded; other steps still pending),
        ``"gone"`` (the item was taken over: drop the answer) or ``"fallback"`` (use the generic path).
        """
        new_id = new_ulid()
        step_name = None if item.target == "step" else name
        if self._sqlite is not None:
            return await self._step_run_fast_sqlite(
                item, step_id, name, step_name, memo_text, started, ended, status_code, new_id, lease_ms,
                max_steps, max_bytes,
            )  # fmt: skip
        async with self._pool.acquire() as raw:
            result = await raw.fetchval(
                "SELECT engine_step_run($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,"
                " $17, $18, $19)",
                item.id, item.run_id, step_id, name, memo_text, item.attempt + 1, started, ended, item.target,
                step_name, item.attempt, status_code, len(memo_text), new_ulid(), new_id, self.worker_id,
                ended + lease_ms, max_steps, max_bytes,
            )  # fmt: skip
        if result in ("gone", "fallback"):
            return str(result)
        if result == "ok:":
            return None
        return QueueItem(new_id, item.run_id, QueueKind.CALL, "step", 0, ended, None)

    async def _step_run_fast_sqlite(
        self,
        item: QueueItem,
        step_id: str,
        name: str,
        step_name: str | None,
        memo_text: str,
        started: int,
        ended: int,
        status_code: int,
        new_id: str,
        lease_ms: int,
        max_steps: int,
        max_bytes: int,
    ) -> QueueItem | str | None:
        """The same statements as ``engine_step_run`` (PostgreSQL), on the SQLite connection."""
        db = self._sqlite
        assert db is not None
        async with self._sqlite_lock:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute(
                    "SELECT status, race, step_count, state_bytes, EXISTS (SELECT 1 FROM queue WHERE id = ?)"
                    " FROM runs WHERE id = ?",
                    (item.id, item.run_id),
                ).fetchone()
                if row is None:
                    db.execute("ROLLBACK")
                    return "fallback"
                status, race, step_count, state_bytes, item_ok = row
                if not item_ok:
                    db.execute("ROLLBACK")
                    return "gone"
                size = len(memo_text)
                step = db.execute(
                    "SELECT status FROM steps WHERE run_id = ? AND step_id = ?", (item.run_id, step_id)
                ).fetchone()
                if (
                    status not in ACTIVE_STATUSES or race or step_count + 1 > max_steps
                    or state_bytes + size > max_bytes or (step is not None and step[0] in ("completed", "failed"))
                ):  # fmt: skip
                    db.execute("ROLLBACK")
                    return "fallback"
                db.execute(
                    "INSERT INTO steps (run_id, step_id, seq, name, op, status, memo, has_memo, opts, attempts,"
                    " started_at, ended_at) VALUES (?, ?, (SELECT COUNT(*) FROM steps WHERE run_id = ?), ?,"
                    " 'StepRun', 'completed', ?, 1, NULL, ?, ?, ?) ON CONFLICT (run_id, step_id) DO UPDATE SET"
                    " op = 'StepRun', status = 'completed', memo = excluded.memo, has_memo = 1,"
                    " attempts = MAX(steps.attempts, excluded.attempts), ended_at = excluded.ended_at",
                    (item.run_id, step_id, item.run_id, name, memo_text, item.attempt + 1, started, ended),
                )
                db.execute(
                    "UPDATE runs SET status = 'RUNNING', started_at = COALESCE(started_at, ?),"
                    " step_count = step_count + 1, state_bytes = state_bytes + ? WHERE id = ?",
                    (started, size, item.run_id),
                )
                db.execute("DELETE FROM queue WHERE id = ?", (item.id,))
                db.execute(
                    "INSERT INTO attempts (id, run_id, target, step_name, attempt, started_at, ended_at, status_code,"
                    " outcome, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'step_completed', NULL)",
                    (new_ulid(), item.run_id, item.target, step_name, item.attempt, started, ended, status_code),
                )
                pending = db.execute(
                    "SELECT COUNT(*) FROM steps WHERE run_id = ?"
                    " AND status IN ('planned', 'sleeping', 'waiting', 'invoking')",
                    (item.run_id,),
                ).fetchone()[0]
                nxt: QueueItem | None = None
                if not pending:
                    db.execute(
                        "INSERT INTO queue (id, run_id, kind, target, attempt, available_at, priority, lease_owner,"
                        " lease_until, payload, created_at) VALUES (?, ?, 'call', 'step', 0, ?, 0, ?, ?, NULL, ?)",
                        (new_id, item.run_id, ended, self.worker_id, ended + lease_ms, ended),
                    )
                    nxt = QueueItem(new_id, item.run_id, QueueKind.CALL, "step", 0, ended, None)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        return nxt

    async def record_attempt(
        self,
        tx: Conn,
        run_id: str,
        target: str,
        step_name: str | None,
        attempt: int,
        started_at: int,
        ended_at: int,
        status_code: int | None,
        outcome: str,
        error: Any = None,
    ) -> None:
        await tx.execute(
            "INSERT INTO attempts (id, run_id, target, step_name, attempt, started_at, ended_at, status_code,"
            " outcome, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            new_ulid(), run_id, target, step_name, attempt, started_at, ended_at, status_code, outcome,
            dumps(error) if error is not None else None,
        )  # fmt: skip

    # ---- pauses (wait for event, invoke, cancel_on) -----------------------------------------------

    async def create_pause(
        self,
        tx: Conn,
        *,
        run_id: str,
        step_id: str | None,
        kind: str,
        event_name: str | None,
        expression: str | None,
        correlation_id: str | None,
        expires_at: int | None,
        data: Any,
        now: int,
    ) -> str:
        pause_id = new_ulid()
        await tx.execute(
            "INSERT INTO pauses (id, run_id, step_id, kind, event_name, expression, correlation_id, expires_at,"
            " created_at, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            pause_id, run_id, step_id, kind, event_name, expression, correlation_id, expires_at, now,
            dumps(data) if data is not None else None,
        )  # fmt: skip
        return pause_id

    async def pauses_for_events(self, tx: Conn, names: Sequence[str]) -> list[dict[str, Any]]:
        if not names:
            return []
        marks = ",".join("?" * len(names))
        rows = await tx.fetch(
            "SELECT id, run_id, step_id, kind, event_name, expression, expires_at, created_at, data FROM pauses"
            f" WHERE event_name IN ({marks}) ORDER BY created_at",
            *names,
        )
        for r in rows:
            r["data"] = json.loads(r["data"]) if r["data"] else None
        return rows

    async def take_pause(self, tx: Conn, pause_id: str) -> dict[str, Any] | None:
        """Delete a pause and return it; None when it was already consumed (exactly-once resume)."""
        row = await tx.fetchrow(
            "DELETE FROM pauses WHERE id = ? RETURNING id, run_id, step_id, kind, correlation_id, data", pause_id
        )
        if row is not None:
            row["data"] = json.loads(row["data"]) if row["data"] else None
        return row

    async def take_pause_by_correlation(self, tx: Conn, correlation_id: str) -> dict[str, Any] | None:
        row = await tx.fetchrow(
            "DELETE FROM pauses WHERE correlation_id = ? AND kind = 'invoke'"
            " RETURNING id, run_id, step_id, kind, correlation_id, data",
            correlation_id,
        )
        if row is not None:
            row["data"] = json.loads(row["data"]) if row["data"] else None
        return row

    async def delete_pause(self, tx: Conn, pause_id: str) -> None:
        await tx.execute("DELETE FROM pauses WHERE id = ?", pause_id)
