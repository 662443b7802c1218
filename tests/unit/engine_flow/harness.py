"""Flow control on a real engine store (SQLite and PostgreSQL), driven with explicit times.

The harness calls the engine's own ingest path (``Runtime.ingest``: the run-start gate inside the ingest
transaction) and the gate's claim / timer hooks with a fake clock, so minutes of flow-control time take
milliseconds and every expected outcome is exact. No app is called here; the integration tests do that.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from marketing_agent.engine.execution.runtime import Runtime
from marketing_agent.engine.flow.control import FlowControl
from marketing_agent.engine.functions import FunctionDef
from marketing_agent.engine.functions.registry import Registry
from marketing_agent.engine.store import QueueItem, Store

T0 = 1_800_000_000_000  # a fixed epoch (ms) so expected times are plain sums


@dataclass
class FakeClock:
    now: int = T0

    def __call__(self) -> int:
        return self.now


@dataclass
class Flow:
    store: Store
    runtime: Runtime
    gate: FlowControl
    clock: FakeClock
    registry: Registry
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _configs: dict[str, dict[str, Any]] = field(default_factory=dict)

    async def register(self, fn_id: str, **options: Any) -> FunctionDef:
        """Register a function ``app-<fn_id>`` triggered by ``test/<fn_id>`` with these config options."""
        cfg = {
            "id": f"app-{fn_id}", "name": fn_id, "triggers": [{"event": f"test/{fn_id}"}],
            "steps": {"step": {"id": "step", "name": "step", "runtime": {"type": "http",
                                                                          "url": "http://127.0.0.1:9/api"}}},
            **options,
        }  # fmt: skip
        self._configs[cfg["id"]] = cfg  # one app holds every function registered so far
        await self.store.save_app(
            "app",
            "http://127.0.0.1:9/api",
            {"url": "x"},
            [(f, f, c) for f, c in self._configs.items()],
            f"{len(self._configs)}",
        )
        await self.registry.refresh(force=True)
        fn = self.registry.get(cfg["id"])
        assert fn is not None
        return fn

    async def send(self, fn: FunctionDef, data: dict[str, Any] | None = None, at: int | None = None) -> list[QueueItem]:
        """Ingest one event for ``fn`` at ``at`` (default: the clock); returns the items due now."""
        now = self.clock.now if at is None else at
        event_id = f"evt-{next(self._ids):06d}"
        name = fn.triggers[0].event or ""
        payload = {"name": name, "id": event_id, "ts": now, "data": data or {}}
        async with self.store.transaction() as tx:
            return await self.runtime.ingest(tx, [(event_id, payload, None)], now)

    async def runs(self, fn: FunctionDef) -> list[dict[str, Any]]:
        """The function's runs in creation order, each with ``start_at`` (its first call item's time)."""
        async with self.store.transaction() as tx:
            return await tx.fetch(
                "SELECT r.id, r.status, r.event_id, r.events, r.output, r.queued_at,"
                " (SELECT MIN(q.available_at) FROM queue q WHERE q.run_id = r.id AND q.kind = 'call') AS start_at"
                " FROM runs r WHERE r.function_id = ? ORDER BY r.event_id, r.id",
                fn.id,
            )

    async def call_item(self, run_id: str) -> QueueItem:
        """The run's pending ``call`` queue item."""
        async with self.store.transaction() as tx:
            row = await tx.fetchrow(
                "SELECT id, run_id, kind, target, attempt, available_at FROM queue WHERE run_id = ? AND kind = 'call'",
                run_id,
            )
        assert row is not None
        return QueueItem(row["id"], row["run_id"], row["kind"], row["target"], 0, int(row["available_at"]))

    async def fire_due(self) -> list[QueueItem]:
        """Fire every flow timer due at the clock (what the executor does when it claims them)."""
        out: list[QueueItem] = []
        async with self.store.transaction() as tx:
            due = await tx.fetch(
                "SELECT id, run_id, kind, target, attempt, available_at, payload FROM queue"
                " WHERE kind LIKE 'flow.%' AND available_at <= ? ORDER BY available_at, id",
                self.clock.now,
            )
        for row in due:
            item = QueueItem(row["id"], row["run_id"], row["kind"], row["target"], 0, int(row["available_at"]))
            async with self.store.transaction() as tx:
                if not await self.store.item_exists(tx, item.id):
                    continue
                await self.store.delete_item(tx, item.id)
                out += await self.gate.timer(tx, item, self.clock.now)
        return out
