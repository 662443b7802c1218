"""Bulk replays: the statements behind ``/v1/replays`` (docs/engine.md § Replay).

A replay row holds what the operator asked for and where it stands; ``replay_runs`` lists the original runs
it matched, each with the id of the run that replays it once started. "done" is counted from the replayed
runs' own statuses, so progress needs no bookkeeping when a run ends.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from .connections import Conn, Database


class ReplayStatus(StrEnum):
    RUNNING = "RUNNING"  # starting runs at its rate, or waiting for the started ones to end
    PAUSED = "PAUSED"  # starts nothing until resumed
    COMPLETED = "COMPLETED"  # every matched run was replayed and every replayed run has ended
    CANCELLED = "CANCELLED"  # starts nothing more; runs already started go on


#: Run statuses a replay may select (runs that did not succeed).
REPLAYABLE_STATUSES = ("FAILED", "CANCELLED")
_ENDED = ("COMPLETED", "FAILED", "CANCELLED", "SKIPPED")
_COLUMNS = (
    "id, function_id, statuses, since, until, filter_expr, rate, status, matched, started, error, next_at,"
    " created_at, updated_at, ended_at"
)


class ReplayOps(Database):
    async def replay_candidates(
        self, function_id: str, statuses: Sequence[str], since: int, until: int, limit: int
    ) -> list[dict[str, Any]]:
        """Runs of ``function_id`` with one of ``statuses`` queued in [since, until), oldest first, with
        their events (for the filter). At most ``limit`` rows."""
        marks = ",".join("?" * len(statuses))
        async with self._read() as c:
            rows = await c.fetch(
                f"SELECT id, events FROM runs WHERE function_id = ? AND status IN ({marks})"
                " AND queued_at >= ? AND queued_at < ? ORDER BY queued_at, id LIMIT ?",
                function_id, *statuses, since, until, limit,
            )  # fmt: skip
        for r in rows:
            r["events"] = json.loads(r["events"])
        return rows

    async def create_replay(
        self,
        tx: Conn,
        *,
        replay_id: str,
        function_id: str,
        statuses: Sequence[str],
        since: int,
        until: int,
        filter_expr: str | None,
        rate: float,
        originals: Sequence[str],
        now: int,
    ) -> None:
        status = ReplayStatus.RUNNING if originals else ReplayStatus.COMPLETED
        await tx.execute(
            f"INSERT INTO replays ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, ?, ?, ?, ?)",
            replay_id, function_id, json.dumps(list(statuses)), since, until, filter_expr, rate, status.value,
            len(originals), now, now, now, None if originals else now,
        )  # fmt: skip
        for seq, original in enumerate(originals):
            await tx.execute(
                "INSERT INTO replay_runs (replay_id, seq, original_run_id, run_id) VALUES (?, ?, ?, NULL)",
                replay_id, seq, original,
            )  # fmt: skip

    async def lock_replay(self, tx: Conn, replay_id: str) -> dict[str, Any] | None:
        """The replay row, locked for the transaction (PostgreSQL ``FOR UPDATE``: one process starts its runs)."""
        suffix = " FOR UPDATE" if self.is_postgres else ""
        return await tx.fetchrow(f"SELECT {_COLUMNS} FROM replays WHERE id = ?{suffix}", replay_id)

    async def update_replay(self, tx: Conn, replay_id: str, now: int, **values: Any) -> None:
        sets = ", ".join(f"{k} = ?" for k in values)
        await tx.execute(f"UPDATE replays SET {sets}, updated_at = ? WHERE id = ?", *values.values(), now, replay_id)

    async def unstarted_replay_runs(self, tx: Conn, replay_id: str, limit: int) -> list[dict[str, Any]]:
        """The next originals to replay, in match order, with what a new run needs (events, trigger event)."""
        return await tx.fetch(
            "SELECT rr.seq, rr.original_run_id, r.events, r.event_id FROM replay_runs rr"
            " LEFT JOIN runs r ON r.id = rr.original_run_id"
            " WHERE rr.replay_id = ? AND rr.run_id IS NULL ORDER BY rr.seq LIMIT ?",
            replay_id, limit,
        )  # fmt: skip

    async def set_replay_run(self, tx: Conn, replay_id: str, seq: int, run_id: str) -> None:
        await tx.execute("UPDATE replay_runs SET run_id = ? WHERE replay_id = ? AND seq = ?", run_id, replay_id, seq)

    async def replay_progress(self, c: Conn, replay_id: str) -> dict[str, int]:
        """Counts of the replayed runs: done (ended), completed, failed (failed, cancelled or skipped by flow
        control), and skipped (originals pruned before their turn)."""
        marks = ",".join("?" * len(_ENDED))
        row = await c.fetchrow(
            "SELECT COUNT(r.id) AS done,"
            " SUM(CASE WHEN r.status = 'COMPLETED' THEN 1 ELSE 0 END) AS completed"
            " FROM replay_runs rr JOIN runs r ON r.id = rr.run_id"
            f" WHERE rr.replay_id = ? AND r.status IN ({marks})",
            replay_id, *_ENDED,
        )  # fmt: skip
        done = int(row["done"] or 0) if row else 0
        completed = int(row["completed"] or 0) if row else 0
        # An original pruned before its turn has nothing to replay; it is marked with an empty run id.
        gone = await c.fetchrow("SELECT COUNT(*) AS n FROM replay_runs WHERE replay_id = ? AND run_id = ''", replay_id)
        skipped = int(gone["n"]) if gone else 0
        return {"done": done, "completed": completed, "failed": done - completed, "skipped": skipped}

    async def replays_due(self) -> list[dict[str, Any]]:
        """Running replays (id, next_at), the replay worker's to-do list."""
        async with self._read() as c:
            return await c.fetch(
                "SELECT id, next_at FROM replays WHERE status = ? ORDER BY next_at", ReplayStatus.RUNNING.value
            )

    async def get_replay(self, replay_id: str, runs_limit: int = 0) -> dict[str, Any] | None:
        """A replay with its progress and, with ``runs_limit``, the first pairs (original → replayed run)."""
        async with self._read() as c:
            row = await c.fetchrow(f"SELECT {_COLUMNS} FROM replays WHERE id = ?", replay_id)
            if row is None:
                return None
            out = _public(row, await self.replay_progress(c, replay_id))
            if runs_limit:
                out["runs"] = await c.fetch(
                    "SELECT rr.original_run_id, rr.run_id, r.status FROM replay_runs rr"
                    " LEFT JOIN runs r ON r.id = rr.run_id WHERE rr.replay_id = ? ORDER BY rr.seq LIMIT ?",
                    replay_id, runs_limit,
                )  # fmt: skip
        return out

    async def list_replays(self, limit: int = 50) -> list[dict[str, Any]]:
        async with self._read() as c:
            rows = await c.fetch(f"SELECT {_COLUMNS} FROM replays ORDER BY id DESC LIMIT ?", limit)
            return [_public(r, await self.replay_progress(c, r["id"])) for r in rows]

    async def replay_of_run(self, run_id: str) -> str | None:
        """The replay that started ``run_id``, if any (the run page links it)."""
        async with self._read() as c:
            row = await c.fetchrow("SELECT replay_id FROM replay_runs WHERE run_id = ?", run_id)
        return str(row["replay_id"]) if row else None


def _public(row: dict[str, Any], progress: dict[str, int]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k not in ("next_at", "filter_expr")}
    out["filter"] = row["filter_expr"]
    out["statuses"] = json.loads(row["statuses"])
    out["rate"] = float(row["rate"])
    out["progress"] = {"matched": int(row["matched"]), "started": int(row["started"]), **progress}
    del out["matched"], out["started"]
    return out
