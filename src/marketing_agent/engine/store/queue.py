"""The queue: workers and their leases, claims, and queue writes inside a transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._ids import new_ulid, now_ms
from .._json import dumps
from .connections import Conn, Database
from .records import QueueItem, QueueKind, queue_item


class QueueOps(Database):
    # ---- workers and leases -----------------------------------------------------------------------

    async def register_worker(self, release_all: bool) -> None:
        async with self.transaction() as tx:
            now = now_ms()
            await tx.execute(
                "INSERT INTO workers (id, started_at, heartbeat_at) VALUES (?, ?, ?)", self.worker_id, now, now
            )
            if release_all:  # SQLite: one process per file, so every lease left over is from a dead process
                await tx.execute("UPDATE queue SET lease_owner = NULL, lease_until = NULL")

    async def heartbeat(self, lease_ms: int) -> None:
        async with self.transaction() as tx:
            now = now_ms()
            await tx.execute("UPDATE workers SET heartbeat_at = ? WHERE id = ?", now, self.worker_id)
            await tx.execute("UPDATE queue SET lease_until = ? WHERE lease_owner = ?", now + lease_ms, self.worker_id)
            await tx.execute("DELETE FROM workers WHERE heartbeat_at < ?", now - 3_600_000)

    async def unregister_worker(self) -> None:
        async with self.transaction() as tx:
            await tx.execute(
                "UPDATE queue SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?", self.worker_id
            )
            await tx.execute("DELETE FROM workers WHERE id = ?", self.worker_id)

    async def claim(self, limit: int, lease_ms: int) -> list[QueueItem]:
        now = now_ms()
        if self.is_postgres:
            sql = (
                "UPDATE queue SET lease_owner = ?, lease_until = ? WHERE id IN ("
                " SELECT id FROM queue WHERE available_at <= ? AND (lease_owner IS NULL OR lease_until < ?)"
                " ORDER BY priority DESC, available_at LIMIT ? FOR UPDATE SKIP LOCKED)"
                " RETURNING id, run_id, kind, target, attempt, available_at, payload"
            )
        else:
            sql = (
                "UPDATE queue SET lease_owner = ?, lease_until = ? WHERE id IN ("
                " SELECT id FROM queue WHERE available_at <= ? AND (lease_owner IS NULL OR lease_until < ?)"
                " ORDER BY priority DESC, available_at LIMIT ?)"
                " RETURNING id, run_id, kind, target, attempt, available_at, payload"
            )
        async with self.transaction() as tx:
            rows = await tx.fetch(sql, self.worker_id, now + lease_ms, now, now, limit)
        return [queue_item(r) for r in rows]

    async def next_due(self) -> int | None:
        """Earliest ``available_at`` of an item nobody holds (or whose lease expired)."""
        now = now_ms()
        async with self._read() as c:
            row = await c.fetchrow(
                "SELECT MIN(available_at) AS t FROM queue WHERE lease_owner IS NULL OR lease_until < ?", now
            )
            lease = await c.fetchrow("SELECT MIN(lease_until) AS t FROM queue WHERE lease_owner IS NOT NULL")
        times = [int(r["t"]) for r in (row, lease) if r and r["t"] is not None]
        return min(times) if times else None

    # ---- queue writes (inside a transaction) ----------------------------------------------------------

    async def enqueue(
        self,
        tx: Conn,
        run_id: str,
        kind: QueueKind,
        target: str,
        *,
        attempt: int = 0,
        available_at: int | None = None,
        payload: dict[str, Any] | None = None,
        lease_ms: int | None = None,
        priority: int = 0,
    ) -> QueueItem:
        """Insert a queue item. With ``lease_ms`` it is leased to this process (to run it inline at once)."""
        now = now_ms()
        at = now if available_at is None else available_at
        item_id = new_ulid()
        owner = self.worker_id if lease_ms is not None else None
        until = now + lease_ms if lease_ms is not None else None
        await tx.execute(
            "INSERT INTO queue (id, run_id, kind, target, attempt, available_at, priority, lease_owner, lease_until,"
            " payload, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            item_id, run_id, kind, target, attempt, at, priority, owner, until,
            dumps(payload) if payload is not None else None, now,
        )  # fmt: skip
        if owner is None:
            self._want_notify()
        return QueueItem(item_id, run_id, kind, target, attempt, at, payload)

    async def delete_item(self, tx: Conn, item_id: str) -> None:
        await tx.execute("DELETE FROM queue WHERE id = ?", item_id)

    async def reschedule_item(self, tx: Conn, item_id: str, attempt: int, available_at: int) -> None:
        await tx.execute(
            "UPDATE queue SET attempt = ?, available_at = ?, lease_owner = NULL, lease_until = NULL WHERE id = ?",
            attempt, available_at, item_id,
        )  # fmt: skip
        self._want_notify()

    async def release_item(self, item_id: str) -> None:
        async with self.transaction() as tx:
            await tx.execute("UPDATE queue SET lease_owner = NULL, lease_until = NULL WHERE id = ?", item_id)

    async def item_exists(self, tx: Conn, item_id: str) -> bool:
        return await tx.fetchrow("SELECT 1 AS x FROM queue WHERE id = ?", item_id) is not None

    async def delete_run_items(self, tx: Conn, run_id: str, kinds: Sequence[str] | None = None) -> None:
        if kinds:
            marks = ",".join("?" * len(kinds))
            await tx.execute(f"DELETE FROM queue WHERE run_id = ? AND kind IN ({marks})", run_id, *kinds)
        else:
            await tx.execute("DELETE FROM queue WHERE run_id = ?", run_id)

    async def delete_timeout_item(self, tx: Conn, run_id: str, pause_id: str) -> None:
        await tx.execute(
            "DELETE FROM queue WHERE run_id = ? AND kind IN ('wait_timeout', 'invoke_timeout') AND target = ?",
            run_id, pause_id,
        )  # fmt: skip
