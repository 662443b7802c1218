"""Every SQL statement of flow control.

Tables (schema version 101 in ``schema.py``), all keyed by function id and a hashed key:

* ``flow_gcra``: the theoretical arrival time of each throttle / rate-limit key (one row, updated in place).
* ``flow_idempotency``: idempotency keys and when they expire; ``flow_singleton``: the event that started
  the current singleton run of each key.
* ``flow_debounce``: the pending debounced event of each key and its timer; ``flow_batches`` and
  ``flow_batch_events``: the open batch of each key and its events.
* ``flow_slots`` and ``flow_waiters``: concurrency slots held by executing queue items, and the items
  waiting for a slot (FIFO by ``since``). A slot counts only while its queue item exists and is leased, so
  a crashed process or a finished step never leaks capacity.

Correct across processes on PostgreSQL: upserts lock their row; the concurrency check takes a transaction
advisory lock per key before counting. SQLite has one writer at a time.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .._ids import new_ulid, now_ms
from .._json import dumps
from .records import RUN_COLUMNS, RunRecord

if TYPE_CHECKING:
    from .connections import Conn
    from .facade import Store
    from .records import QueueItem


class FlowStore:
    """Flow-control queries over the engine's :class:`~.store.Store` (its connections and transactions)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._for_update = " FOR UPDATE" if store.is_postgres else ""

    # ---- GCRA (throttle, rate limit) ----------------------------------------------------------------

    async def gcra_reserve(self, tx: Conn, kind: str, fn_id: str, key: str, now: int, emission: int) -> int:
        """Move the key's arrival time one emission ahead (from now if it lies in the past); returns it.
        A throttle always reserves: the start waits until ``tat - tolerance``, so the queue stays FIFO."""
        row = await tx.fetchrow(
            "INSERT INTO flow_gcra (kind, fn_id, key, tat) VALUES (?, ?, ?, ?) ON CONFLICT (kind, fn_id, key)"
            " DO UPDATE SET tat = (CASE WHEN flow_gcra.tat > ? THEN flow_gcra.tat ELSE ? END) + ? RETURNING tat",
            kind, fn_id, key, now + emission, now, now, emission,
        )  # fmt: skip
        assert row is not None
        return int(row["tat"])

    async def gcra_take(
        self, tx: Conn, kind: str, fn_id: str, key: str, now: int, emission: int, tolerance: int
    ) -> bool:
        """Reserve only when the start may happen now (rate limit): False leaves the key untouched."""
        row = await tx.fetchrow(
            "INSERT INTO flow_gcra (kind, fn_id, key, tat) VALUES (?, ?, ?, ?) ON CONFLICT (kind, fn_id, key)"
            " DO UPDATE SET tat = (CASE WHEN flow_gcra.tat > ? THEN flow_gcra.tat ELSE ? END) + ?"
            " WHERE (CASE WHEN flow_gcra.tat > ? THEN flow_gcra.tat ELSE ? END) + ? - ? <= ? RETURNING tat",
            kind, fn_id, key, now + emission, now, now, emission, now, now, emission, tolerance, now,
        )  # fmt: skip
        return row is not None

    async def prune(self, tx: Conn, now: int) -> None:
        """Drop state that no longer changes any decision: arrival times in the past (a missing row
        behaves the same), expired idempotency keys, slots and waiters whose queue item is gone."""
        await tx.execute("DELETE FROM flow_gcra WHERE tat < ?", now)
        await tx.execute("DELETE FROM flow_idempotency WHERE expires_at <= ?", now)
        await tx.execute("DELETE FROM flow_slots WHERE item_id NOT IN (SELECT id FROM queue)")
        await tx.execute("DELETE FROM flow_waiters WHERE item_id NOT IN (SELECT id FROM queue)")

    async def gcra_next(
        self, tx: Conn, kind: str, fn_id: str, key: str, now: int, emission: int, tolerance: int
    ) -> int | None:
        """Take a start now (None), or say when one will be free (the key is left untouched)."""
        if await self.gcra_take(tx, kind, fn_id, key, now, emission, tolerance):
            return None
        row = await tx.fetchrow("SELECT tat FROM flow_gcra WHERE kind = ? AND fn_id = ? AND key = ?", kind, fn_id, key)
        tat = int(row["tat"]) if row is not None else now
        return max(tat, now) + emission - tolerance

    # ---- idempotency, singleton, skipped runs -------------------------------------------------------

    async def idempotency_claim(self, tx: Conn, fn_id: str, key: str, event_id: str, now: int, ttl: int) -> bool:
        """True when the key is free (or expired, or already held by ``event_id``: checking twice is harmless)
        and is now held by ``event_id`` for ``ttl`` ms."""
        row = await tx.fetchrow(
            "INSERT INTO flow_idempotency (fn_id, key, event_id, expires_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (fn_id, key) DO UPDATE SET event_id = excluded.event_id, expires_at = excluded.expires_at"
            " WHERE flow_idempotency.expires_at <= ? OR flow_idempotency.event_id = excluded.event_id"
            " RETURNING event_id",
            fn_id, key, event_id, now + ttl, now,
        )  # fmt: skip
        return row is not None

    async def idempotency_release(self, tx: Conn, fn_id: str, key: str, event_id: str) -> None:
        await tx.execute(
            "DELETE FROM flow_idempotency WHERE fn_id = ? AND key = ? AND event_id = ?", fn_id, key, event_id
        )

    async def singleton_run(self, tx: Conn, fn_id: str, key: str) -> dict[str, Any] | None:
        """The active run (QUEUED or RUNNING) that holds the singleton key, if any."""
        return await tx.fetchrow(
            "SELECT r.id, r.status FROM flow_singleton s JOIN runs r ON r.event_id = s.event_id"
            " AND r.function_id = s.fn_id WHERE s.fn_id = ? AND s.key = ? AND r.status IN ('QUEUED', 'RUNNING')"
            " ORDER BY r.id DESC LIMIT 1",
            fn_id, key,
        )  # fmt: skip

    async def singleton_hold(self, tx: Conn, fn_id: str, key: str, event_id: str) -> None:
        await tx.execute(
            "INSERT INTO flow_singleton (fn_id, key, event_id) VALUES (?, ?, ?) ON CONFLICT (fn_id, key)"
            " DO UPDATE SET event_id = excluded.event_id",
            fn_id, key, event_id,
        )  # fmt: skip

    async def record_skipped(
        self,
        tx: Conn,
        fn_id: str,
        app_id: str,
        event_id: str | None,
        events: list[dict[str, Any]],
        now: int,
        reason: str,
    ) -> str:
        """A run that flow control skipped: status SKIPPED, the reason as its output, never executed."""
        run_id = new_ulid(now)
        await tx.execute(
            "INSERT INTO runs (id, function_id, app_id, event_id, events, status, output, queued_at, ended_at)"
            " VALUES (?, ?, ?, ?, ?, 'SKIPPED', ?, ?, ?)",
            run_id, fn_id, app_id, event_id, dumps(events), dumps({"skipped": reason}), now, now,
        )  # fmt: skip
        return run_id

    # ---- timers (queue items of kind flow.*) --------------------------------------------------------

    async def add_timer(
        self, tx: Conn, kind: str, owner: str, target: str, at: int, now: int, item_id: str | None = None
    ) -> str:
        """A queue item the executor hands back to flow control at ``at``; ``owner`` is its run id column
        (a real run for finish timeouts, a synthetic one for debounce and batch timers)."""
        item_id = item_id or new_ulid(now)
        await tx.execute(
            "INSERT INTO queue (id, run_id, kind, target, attempt, available_at, priority, created_at)"
            " VALUES (?, ?, ?, ?, 0, ?, 0, ?) ON CONFLICT (id) DO NOTHING",
            item_id, owner, kind, target, at, now,
        )  # fmt: skip
        # No NOTIFY: the creating process wakes its own dispatcher (a timer is due later anyway), and the
        # others find it when they next look at the queue.
        return item_id

    async def move_timer(self, tx: Conn, item_id: str, at: int) -> None:
        await tx.execute("UPDATE queue SET available_at = ? WHERE id = ?", at, item_id)

    async def unlease(self, tx: Conn, items: list[QueueItem]) -> None:
        """Give items back to the queue (any process's dispatcher claims them)."""
        for item in items:
            await tx.execute("UPDATE queue SET lease_owner = NULL, lease_until = NULL WHERE id = ?", item.id)
        if items:
            self.store._want_notify()

    # ---- debounce -----------------------------------------------------------------------------------

    async def debounce_get(self, tx: Conn, fn_id: str, key: str) -> dict[str, Any] | None:
        return await tx.fetchrow(
            "SELECT event_id, event, first_at, fire_at, item_id FROM flow_debounce WHERE fn_id = ? AND key = ?"
            + self._for_update,
            fn_id, key,
        )  # fmt: skip

    async def debounce_put(
        self,
        tx: Conn,
        fn_id: str,
        key: str,
        event_id: str,
        event: dict[str, Any],
        first_at: int,
        fire_at: int,
        item_id: str,
    ) -> None:
        await tx.execute(
            "INSERT INTO flow_debounce (fn_id, key, event_id, event, first_at, fire_at, item_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (fn_id, key) DO UPDATE SET event_id = excluded.event_id,"
            " event = excluded.event, first_at = excluded.first_at, fire_at = excluded.fire_at,"
            " item_id = excluded.item_id",
            fn_id, key, event_id, dumps(event), first_at, fire_at, item_id,
        )  # fmt: skip

    async def debounce_delete(self, tx: Conn, fn_id: str, key: str) -> None:
        await tx.execute("DELETE FROM flow_debounce WHERE fn_id = ? AND key = ?", fn_id, key)

    # ---- batching -----------------------------------------------------------------------------------

    async def batch_open(self, tx: Conn, fn_id: str, key: str) -> dict[str, Any] | None:
        return await tx.fetchrow(
            "SELECT id, size, bytes, opened_at, item_id FROM flow_batches WHERE fn_id = ? AND key = ?"
            + self._for_update,
            fn_id, key,
        )  # fmt: skip

    async def batch_get(self, tx: Conn, batch_id: str) -> dict[str, Any] | None:
        return await tx.fetchrow(
            "SELECT id, fn_id, key, size, bytes, opened_at, item_id FROM flow_batches WHERE id = ?"
            + self._for_update,
            batch_id,
        )  # fmt: skip

    async def batch_create(self, tx: Conn, batch_id: str, fn_id: str, key: str, now: int, item_id: str) -> None:
        await tx.execute(
            "INSERT INTO flow_batches (id, fn_id, key, size, bytes, opened_at, item_id) VALUES (?, ?, ?, 0, 0, ?, ?)",
            batch_id, fn_id, key, now, item_id,
        )  # fmt: skip

    async def batch_append(self, tx: Conn, batch_id: str, seq: int, event_id: str, event_text: str) -> None:
        await tx.execute(
            "INSERT INTO flow_batch_events (batch_id, seq, event_id, event) VALUES (?, ?, ?, ?)",
            batch_id, seq, event_id, event_text,
        )  # fmt: skip
        await tx.execute(
            "UPDATE flow_batches SET size = size + 1, bytes = bytes + ? WHERE id = ?",
            len(event_text),
            batch_id,
        )

    async def batch_take(self, tx: Conn, batch_id: str) -> list[tuple[str, dict[str, Any]]]:
        """Close a batch: delete it and return its (event id, event) in arrival order."""
        rows = await tx.fetch("SELECT event_id, event FROM flow_batch_events WHERE batch_id = ? ORDER BY seq", batch_id)
        await tx.execute("DELETE FROM flow_batch_events WHERE batch_id = ?", batch_id)
        await tx.execute("DELETE FROM flow_batches WHERE id = ?", batch_id)
        return [(r["event_id"], json.loads(r["event"])) for r in rows]

    # ---- runs ---------------------------------------------------------------------------------------

    async def run_row(self, tx: Conn, run_id: str) -> RunRecord | None:
        row = await tx.fetchrow(f"SELECT {RUN_COLUMNS} FROM runs WHERE id = ?", run_id)
        return None if row is None else RunRecord.from_row(row)

    # ---- concurrency --------------------------------------------------------------------------------

    async def acquire_slots(self, item_id: str, since: int, limits: list[tuple[str, int]]) -> int | None:
        """Take one slot in every ``(key, limit)`` for the item (None), or none: returns how many waiters
        are ahead of it on the busiest full key.

        A key is full when its live slots plus the waiters queued ahead of this item reach the limit, so
        waiting items are served in ``since`` order (FIFO per key) whichever process claims them.
        """
        full: list[str] = []
        position = 0
        async with self.store.transaction() as tx:
            if self.store.is_postgres:
                for key, _limit in sorted(limits):
                    await tx.execute("SELECT pg_advisory_xact_lock(hashtext(?))", key)
            # A waiter keeps its place: the time it first waited, not the time it was requeued to.
            first = await tx.fetchrow("SELECT MIN(since) AS s FROM flow_waiters WHERE item_id = ?", item_id)
            if first is not None and first["s"] is not None:
                since = int(first["s"])
            for key, limit in limits:
                live = await tx.fetchrow(
                    "SELECT COUNT(*) AS n FROM flow_slots s JOIN queue q ON q.id = s.item_id"
                    " WHERE s.key = ? AND s.item_id <> ? AND q.lease_owner IS NOT NULL AND q.lease_until >= ?",
                    key, item_id, now_ms(),  # leases are wall-clock times, whatever clock flow control uses
                )  # fmt: skip
                ahead = await tx.fetchrow(
                    "SELECT COUNT(*) AS n FROM flow_waiters w JOIN queue q ON q.id = w.item_id"
                    " WHERE w.key = ? AND w.item_id <> ? AND (w.since < ? OR (w.since = ? AND w.item_id < ?))",
                    key, item_id, since, since, item_id,
                )  # fmt: skip
                waiting = int(ahead["n"] if ahead else 0)
                if int(live["n"] if live else 0) + waiting >= limit:
                    full.append(key)
                    position = max(position, waiting)
            if full:
                for key in full:
                    await tx.execute(
                        "INSERT INTO flow_waiters (key, item_id, since) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                        key, item_id, since,
                    )  # fmt: skip
                return position
            for key, _limit in limits:
                await tx.execute("INSERT INTO flow_slots (key, item_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                                 key, item_id)  # fmt: skip
            await tx.execute("DELETE FROM flow_waiters WHERE item_id = ?", item_id)
        return None

    async def release_slots(self, item_id: str, now: int) -> list[str]:
        """Free the item's slots and make the oldest waiter of each key due now; returns the woken item ids."""
        woken: list[str] = []
        async with self.store.transaction() as tx:
            rows = await tx.fetch("DELETE FROM flow_slots WHERE item_id = ? RETURNING key", item_id)
            for row in rows:
                await tx.execute(
                    "DELETE FROM flow_waiters WHERE key = ? AND item_id NOT IN (SELECT id FROM queue)",
                    row["key"],
                )
                nxt = await tx.fetchrow(
                    "SELECT w.item_id FROM flow_waiters w JOIN queue q ON q.id = w.item_id WHERE w.key = ?"
                    " AND q.lease_owner IS NULL ORDER BY w.since, w.item_id LIMIT 1",
                    row["key"],
                )  # fmt: skip
                if nxt is not None:
                    await tx.execute(
                        "UPDATE queue SET available_at = ? WHERE id = ? AND available_at > ?",
                        now, nxt["item_id"], now,
                    )  # fmt: skip
                    woken.append(str(nxt["item_id"]))
            if woken:
                self.store._want_notify()
        return woken
