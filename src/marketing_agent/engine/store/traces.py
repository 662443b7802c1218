"""Trace context of events (docs/observability.md): the W3C ``traceparent`` an event arrived with, so the runs
it starts join the sender's trace in any engine process. Written and read only when tracing is on."""

from __future__ import annotations

from collections.abc import Sequence

from .connections import Conn, Database


class TraceOps(Database):
    async def set_events_trace_parent(self, tx: Conn, event_ids: Sequence[str], traceparent: str) -> None:
        marks = ",".join("?" * len(event_ids))
        await tx.execute(f"UPDATE events SET trace_parent = ? WHERE id IN ({marks})", traceparent, *event_ids)

    async def run_trace_parent(self, run_id: str, tx: Conn | None = None) -> str | None:
        """The traceparent of the event that triggered ``run_id`` (None: none recorded, or no such run); in
        ``tx`` when given (a transaction holds SQLite's one connection)."""
        sql = "SELECT e.trace_parent FROM runs r JOIN events e ON e.id = r.event_id WHERE r.id = ?"
        if tx is not None:
            row = await tx.fetchrow(sql, run_id)
        else:
            async with self._read() as c:
                row = await c.fetchrow(sql, run_id)
        return None if row is None else row["trace_parent"]
