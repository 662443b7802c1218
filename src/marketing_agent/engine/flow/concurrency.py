"""Step-claim checks: the start timeout, the throttle on actual starts, the finish-timeout timer, and
concurrency limits.

Concurrency limits *executing steps*: a ``call`` item takes one slot in each of the function's limits
(at most 2) for as long as the app is being called; sleeping, waiting and invoking runs hold none. Each
limit is a virtual queue per key value (``scope`` ``fn``: per function; ``env`` / ``account``: shared by
every function using the same key). An item that finds a limit full is recorded as a waiter and requeued;
waiters are served oldest first per key, and the release of a slot makes the oldest waiter due at once.
Different keys never wait for each other.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .._duration import duration_ms
from .keys import Gcra, event_key
from .port import Clock, RunLifecycle
from .timers import FINISH_KIND

if TYPE_CHECKING:
    from ..functions.model import FunctionDef
    from ..store import Conn, QueueItem, RunRecord
    from ..store.flow import FlowStore

log = logging.getLogger(__name__)

#: A waiter retries after this (times its place in line / limit), in case its wake-up was missed.
RETRY_MS = 100
RETRY_MAX_MS = 5000
_KEY_CACHE = 10_000

#: FlowControl's start checks for a run started by ``step.invoke``: a reason to skip it, or None.
InvokedChecks = Callable[["Conn", "FunctionDef", "RunRecord", int], Awaitable[str | None]]


class Concurrency:
    def __init__(self, runtime: RunLifecycle, db: FlowStore, clock: Clock, invoked_checks: InvokedChecks) -> None:
        self.rt = runtime
        self.db = db
        self.clock = clock
        self.invoked_checks = invoked_checks
        self._holding: set[str] = set()  # items of this process that hold slots
        self._keys: OrderedDict[str, list[tuple[str, int]]] = OrderedDict()  # run id → (slot key, limit)
        self._since: dict[str, int] = {}  # run id → its place in the concurrency queues
        self._paced: OrderedDict[str, None] = OrderedDict()  # runs past the throttle's start check
        self._started: OrderedDict[str, None] = OrderedDict()  # runs past their first step (timeouts)
        self._checked: OrderedDict[str, None] = OrderedDict()  # runs past the invoked-run start checks

    async def allow(self, item: QueueItem, fn: FunctionDef) -> int | None:
        now = self.clock()
        cfg = fn.config
        timeouts = cfg.get("timeouts") or {}
        throttle = cfg.get("throttle") if item.run_id not in self._paced else None
        limits = self._keys.get(item.run_id)
        run: RunRecord | None = None
        gated = item.run_id not in self._checked and _skips_runs(cfg)
        if limits is None or throttle or gated or (timeouts and item.run_id not in self._started):
            # One transaction reads the run and, for its first step, applies the throttle to the start.
            async with self.rt.store.transaction() as tx:
                run = await self.db.run_row(tx, item.run_id)
                if run is None or not run.active:
                    return None  # the executor drops the item
                first = run.started_at is None
                deadline = _deadline(run, timeouts) if first else None
                if deadline is not None and now > deadline:
                    items = await self.rt.cancel(tx, item.run_id, now, reason="timeouts.start: the run did not start"
                                                 " in time")  # fmt: skip
                    await self.db.unlease(tx, items)
                    self.rt.on_enqueue(now)
                    return now
                if gated and first and run.parent_run_id:
                    reason = await self.invoked_checks(tx, fn, run, now)
                    if reason is not None:
                        await self._skip_invoked(tx, item.run_id, reason, now)
                        return now
                at = await self._pace(tx, fn, throttle, run, now) if throttle and first else None
            if gated:  # checked once (committed): a later denial must not check it again
                self._remember_run(self._checked, item.run_id)
            if at is not None:
                return at if deadline is None else min(at, max(now + 1, deadline + 1))
            if throttle:
                self._remember_run(self._paced, item.run_id)
        first = run is not None and run.started_at is None
        if limits is None:
            assert run is not None
            limits = self._slot_keys(fn, run)
            self._remember(item.run_id, limits)
        if limits:
            # Every item of a run waits with the run's place (its first item's time), so started runs
            # finish before newer runs take their first step, as in Inngest's queue.
            since = self._since.setdefault(item.run_id, item.available_at if run is None or first
                                           else run.queued_at)  # fmt: skip
            position = await self.db.acquire_slots(item.id, since, limits)
            if position is not None:
                # The next in line retries soon (a release may race with its requeue); the rest rarely:
                # a release wakes the oldest waiter at once anyway.
                retry = now + min(RETRY_MAX_MS, RETRY_MS * (1 + position // max(1, min(lim for _k, lim in limits))))
                deadline = _deadline(run, timeouts) if run is not None and first else None
                if deadline is not None:  # be back in time to cancel it
                    retry = min(retry, max(now + 1, deadline + 1))
                return retry
            self._holding.add(item.id)
        finish_ms = duration_ms(timeouts.get("finish"))
        if first and finish_ms is not None:
            async with self.rt.store.transaction() as tx:
                await self.db.add_timer(tx, FINISH_KIND, item.run_id, "finish", now + finish_ms, now,
                                        item_id=f"flowfin-{item.run_id}")  # fmt: skip
            self.rt.on_enqueue(now + finish_ms)
        if timeouts:
            self._remember_run(self._started, item.run_id)
        return None

    async def _skip_invoked(self, tx: Conn, run_id: str, reason: str, now: int) -> None:
        """End an invoked run as SKIPPED; its parent's invoke step gets the reason as an error."""
        run = await self.rt.store.lock_run(tx, run_id)
        if run is None:
            return
        error = {"name": "FunctionSkipped", "message": f"the invoked function was skipped: {reason}"}
        items = await self.rt.finish(tx, run, "SKIPPED", json.dumps({"skipped": reason}), now, error=error)
        await self.db.unlease(tx, items)
        self.rt.on_enqueue(now)

    async def _pace(self, tx: Conn, fn: FunctionDef, throttle: dict[str, Any], run: RunRecord, now: int) -> int | None:
        """The throttle again, on actual starts: the queue makes runs due at the throttle's pace, but a
        dispatcher that falls behind would start the late ones together. A second GCRA with the same
        parameters keeps the starts themselves spaced (None: start now; else when to retry)."""
        events = run.events()
        g = Gcra.throttle(int(throttle["limit"]), duration_ms(throttle["period"]) or 1000,
                          int(throttle.get("burst") or 0))  # fmt: skip
        key = event_key(throttle.get("key"), events[0] if events else {})
        return await self.db.gcra_next(tx, "throttle-start", fn.id, key, now, g.emission, g.tolerance)

    @staticmethod
    def _remember_run(seen: OrderedDict[str, None], run_id: str) -> None:
        seen[run_id] = None
        if len(seen) > _KEY_CACHE:
            seen.popitem(last=False)

    async def release(self, item: QueueItem) -> None:
        if item.id not in self._holding:
            return
        self._holding.discard(item.id)
        try:
            woken = await self.db.release_slots(item.id, self.clock())
        except Exception:  # the slot is freed anyway once the item is gone; only the wake-up is lost
            log.exception("releasing concurrency slots of %s failed", item.id)
            return
        if woken:
            self.rt.on_enqueue(self.clock())

    def _slot_keys(self, fn: FunctionDef, run: RunRecord) -> list[tuple[str, int]]:
        events = run.events()
        event = events[0] if events else {}
        batched = bool(fn.config.get("batchEvents"))  # Inngest ignores the concurrency key with batching
        out: list[tuple[str, int]] = []
        rules: Any = fn.config.get("concurrency") or []
        listed: list[dict[str, Any]] = [{"limit": rules}] if isinstance(rules, int) else list(rules)
        for rule in listed:
            limit = int(rule.get("limit") or 0)
            if limit <= 0:
                continue
            key = "" if batched else event_key(rule.get("key"), event)
            scope = rule.get("scope") or "fn"
            out.append((f"env:{key}" if scope in ("env", "account") else f"fn:{fn.id}:{key}", limit))
        return out

    def _remember(self, run_id: str, limits: list[tuple[str, int]]) -> None:
        self._keys[run_id] = limits
        if len(self._keys) > _KEY_CACHE:
            old, _ = self._keys.popitem(last=False)
            self._since.pop(old, None)


def _skips_runs(cfg: dict[str, Any]) -> bool:
    return bool(cfg.get("idempotency") or cfg.get("rateLimit") or cfg.get("singleton"))


def _deadline(run: RunRecord, timeouts: dict[str, Any]) -> int | None:
    """When a run that has not started yet is cancelled by ``timeouts.start``."""
    start_ms = duration_ms(timeouts.get("start"))
    return None if start_ms is None else run.queued_at + start_ms
