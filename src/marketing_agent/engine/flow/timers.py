"""Debounce and batching (events held until a timer or a full batch releases them), and the timer items.

Timers are ordinary queue items of kind ``flow.*``, so they survive restarts and any engine process may
fire them. A debounce keeps one row per (function, key) with the latest event; each new event moves its
timer to ``min(now + period, first event + timeout)``. A batch keeps its events in arrival order and closes
at ``maxSize`` events, at 10 MiB, or when its timer (``timeout`` after the first event) fires.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .._duration import duration_ms
from .._expr import matches
from .._ids import new_ulid
from .._json import dumps
from ..store.records import QueueKind
from .keys import BATCH_MAX_BYTES, DEFAULT_BATCH_TIMEOUT_MS, event_key
from .port import RunLifecycle

if TYPE_CHECKING:
    from ..functions.model import FunctionDef
    from ..store import Conn, QueueItem
    from ..store.flow import FlowStore

log = logging.getLogger(__name__)

DEBOUNCE_KIND = QueueKind.FLOW_DEBOUNCE
BATCH_KIND = QueueKind.FLOW_BATCH
FINISH_KIND = QueueKind.FLOW_FINISH

Starter = Callable[["Conn", "FunctionDef", list[dict[str, Any]], str, int], Awaitable[list["QueueItem"]]]


class Timers:
    def __init__(self, runtime: RunLifecycle, db: FlowStore, start: Starter) -> None:
        self.rt = runtime
        self.db = db
        self.start = start

    # ---- batching ---------------------------------------------------------------------------------

    @staticmethod
    def batches(cfg: dict[str, Any], event: dict[str, Any]) -> bool:
        """False when the batch's ``if`` rejects the event: it then runs at once, alone."""
        return matches(cfg.get("if") or None, {"event": event})

    async def batch_add(
        self, tx: Conn, fn: FunctionDef, cfg: dict[str, Any], event_id: str, event: dict[str, Any], now: int
    ) -> list[QueueItem]:
        key = event_key(cfg.get("key"), event)
        text = dumps(event)
        items: list[QueueItem] = []
        row = await self.db.batch_open(tx, fn.id, key)
        if row is not None and int(row["size"]) > 0 and int(row["bytes"]) + len(text) > BATCH_MAX_BYTES:
            items += await self._close(tx, row["id"], now)  # this event would pass 10 MiB: it opens the next
            row = None
        if row is None:
            batch_id = new_ulid(now)
            timeout = duration_ms(cfg.get("timeout")) or DEFAULT_BATCH_TIMEOUT_MS
            item_id = await self.db.add_timer(tx, BATCH_KIND, f"flow:batch:{batch_id}", batch_id, now + timeout, now)
            self.rt.on_enqueue(now + timeout)
            await self.db.batch_create(tx, batch_id, fn.id, key, now, item_id)
            size, nbytes = 0, 0
        else:
            batch_id, size, nbytes = row["id"], int(row["size"]), int(row["bytes"])
        await self.db.batch_append(tx, batch_id, size, event_id, text)
        if size + 1 >= int(cfg.get("maxSize") or 1) or nbytes + len(text) >= BATCH_MAX_BYTES:
            items += await self._close(tx, batch_id, now)
        return items

    async def _close(self, tx: Conn, batch_id: str, now: int) -> list[QueueItem]:
        row = await self.db.batch_get(tx, batch_id)
        if row is None:
            return []
        taken = await self.db.batch_take(tx, batch_id)
        await self.rt.store.delete_item(tx, row["item_id"])
        fn = await self._function(row["fn_id"])
        if fn is None or not taken:
            log.warning("batch %s of %s dropped: the function is no longer registered", batch_id, row["fn_id"])
            return []
        return await self.start(tx, fn, [e for _, e in taken], taken[0][0], now)

    # ---- debounce ---------------------------------------------------------------------------------

    async def debounce_add(
        self, tx: Conn, fn: FunctionDef, cfg: dict[str, Any], event_id: str, event: dict[str, Any], now: int
    ) -> None:
        key = event_key(cfg.get("key"), event)
        period = duration_ms(cfg.get("period")) or 1000
        timeout = duration_ms(cfg.get("timeout"))
        row = await self.db.debounce_get(tx, fn.id, key)
        first_at = int(row["first_at"]) if row is not None else now
        fire_at = now + period
        if timeout is not None:
            fire_at = min(fire_at, first_at + timeout)
        if row is None:
            item_id = await self.db.add_timer(tx, DEBOUNCE_KIND, f"flow:debounce:{fn.id}", _target(fn.id, key),
                                              fire_at, now)  # fmt: skip
            self.rt.on_enqueue(fire_at)
        else:
            item_id = row["item_id"]
            await self.db.move_timer(tx, item_id, fire_at)  # later: the dispatcher wakes early and looks again
        await self.db.debounce_put(tx, fn.id, key, event_id, event, first_at, fire_at, item_id)

    async def _function(self, fn_id: str) -> FunctionDef | None:
        """The function, reloading the registry once if this process has not seen its sync yet."""
        fn = self.rt.registry.get(fn_id)
        if fn is None:
            await self.rt.registry.refresh()
            fn = self.rt.registry.get(fn_id)
        return fn

    # ---- timers -----------------------------------------------------------------------------------

    async def fire(self, tx: Conn, item: QueueItem, now: int) -> list[QueueItem]:
        if item.kind == DEBOUNCE_KIND:
            return await self._fire_debounce(tx, item, now)
        if item.kind == BATCH_KIND:
            return await self._close(tx, item.target, now)
        if item.kind == FINISH_KIND:
            return await self.rt.cancel(tx, item.run_id, now, reason="timeouts.finish: the run took too long")
        log.warning("unknown flow timer %s", item.kind)
        return []

    async def _fire_debounce(self, tx: Conn, item: QueueItem, now: int) -> list[QueueItem]:
        fn_id, _, key = item.target.rpartition("|")
        row = await self.db.debounce_get(tx, fn_id, key)
        if row is None or row["item_id"] != item.id:
            return []
        if int(row["fire_at"]) > now:  # an event moved it while this timer was being claimed
            await self.db.add_timer(tx, DEBOUNCE_KIND, item.run_id, item.target, int(row["fire_at"]), now, item.id)
            self.rt.on_enqueue(int(row["fire_at"]))
            return []
        await self.db.debounce_delete(tx, fn_id, key)
        fn = await self._function(fn_id)
        if fn is None:
            log.warning("debounced event of %s dropped: the function is no longer registered", fn_id)
            return []
        return await self.start(tx, fn, [json.loads(row["event"])], row["event_id"], now)


def _target(fn_id: str, key: str) -> str:
    return f"{fn_id}|{key}"
