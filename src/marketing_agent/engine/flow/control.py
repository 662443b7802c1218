"""FlowControl: the engine's run-start and step-claim gates (``docs/flow-control.md``).

At run start (inside the event-ingest transaction), in this order: batching or debounce hold the event;
idempotency, rate limit and singleton may skip the run (recorded as a SKIPPED run with the reason);
singleton ``cancel`` cancels the active run; throttle and priority decide when the run's first step may
run. At every step claim: the start timeout, then the concurrency limits. Timers (debounce, batch, finish
timeout) are queue items of kind ``flow.*`` that the executor hands back to :meth:`FlowControl.timer`.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from .._duration import duration_ms
from ..store.flow import FlowStore
from .concurrency import Concurrency
from .keys import IDEMPOTENCY_MS, Gcra, event_key, priority_seconds
from .port import FLOW_KIND_PREFIX, START, Clock, RunLifecycle, StartDecision
from .timers import FINISH_KIND, Timers

if TYPE_CHECKING:
    from ..functions.model import FunctionDef
    from ..store import Conn, QueueItem, RunRecord

log = logging.getLogger(__name__)

#: Every this many gated run starts, a process drops flow-control state that no longer matters.
PRUNE_EVERY = 1000


def system_clock() -> int:
    return int(time.time() * 1000)


class FlowControl:
    """Both gates. ``clock`` (ms epoch) is injectable so tests run minutes of flow-control time in seconds;
    the ingest path uses the ``now`` it is given."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or system_clock
        self._rt: RunLifecycle | None = None
        self._db: FlowStore | None = None
        self._timers: Timers | None = None
        self._concurrency: Concurrency | None = None
        self._admits = 0

    def bind(self, runtime: RunLifecycle) -> None:
        """Called once by the runtime that owns the gates (it gives the store and the run lifecycle)."""
        self._rt = runtime
        self._db = FlowStore(runtime.store)
        self._timers = Timers(runtime, self._db, self._start)
        self._concurrency = Concurrency(runtime, self._db, self.clock, self._invoked_checks)

    @property
    def db(self) -> FlowStore:
        assert self._db is not None, "FlowControl.bind(runtime) was not called"
        return self._db

    # ---- run start --------------------------------------------------------------------------------

    async def admit(self, tx: Conn, fn: FunctionDef, event: dict[str, Any], now: int) -> StartDecision:
        cfg = fn.config
        if not _has_start_controls(cfg):
            return START
        self._admits += 1
        if self._admits % PRUNE_EVERY == 0:
            await self.db.prune(tx, now)
        assert self._timers is not None
        event_id = str(event.get("id") or "")
        batch = cfg.get("batchEvents")
        if batch and self._timers.batches(batch, event):
            items = await self._timers.batch_add(tx, fn, batch, event_id, event, now)
            return StartDecision(action="hold", reason="batched", items=tuple(items))
        debounce = cfg.get("debounce")
        if debounce:
            await self._timers.debounce_add(tx, fn, debounce, event_id, event, now)
            return StartDecision(action="hold", reason="debounced")
        return await self._gate(tx, fn, [event], event_id, now)

    async def _gate(
        self, tx: Conn, fn: FunctionDef, events: list[dict[str, Any]], event_id: str, now: int
    ) -> StartDecision:
        """The start checks of one run (after batching/debounce released its events)."""
        cfg, event = fn.config, events[0]
        idem = cfg.get("idempotency")
        idem_key = event_key(idem, event) if idem else None
        if idem_key is not None and not await self.db.idempotency_claim(
            tx, fn.id, idem_key, event_id, now, IDEMPOTENCY_MS
        ):
            return await self._skip(tx, fn, events, event_id, now,
                                    "idempotency: a run with this key already started within 24 h")  # fmt: skip
        rate = cfg.get("rateLimit")
        if rate:
            g = Gcra.rate_limit(int(rate["limit"]), duration_ms(rate["period"]) or 1000)
            key = event_key(rate.get("key"), event)
            if not await self.db.gcra_take(tx, "rate", fn.id, key, now, g.emission, g.tolerance):
                if idem_key is not None:  # a skipped run does not use up its idempotency key
                    await self.db.idempotency_release(tx, fn.id, idem_key, event_id)
                return await self._skip(tx, fn, events, event_id, now,
                                        f"rate limit: more than {rate['limit']} runs in {rate['period']}")  # fmt: skip
        items: list[QueueItem] = []
        singleton = cfg.get("singleton")
        if singleton:
            key = event_key(singleton.get("key"), event)
            active = await self.db.singleton_run(tx, fn.id, key)
            if active is not None:
                if singleton.get("mode") != "cancel":
                    return await self._skip(tx, fn, events, event_id, now,
                                            f"singleton: run {active['id']} is active")  # fmt: skip
                assert self._rt is not None
                items += await self._rt.cancel(tx, active["id"], now, reason="cancelled by a newer singleton run")
            await self.db.singleton_hold(tx, fn.id, key, event_id)
        start = now
        throttle = cfg.get("throttle")
        if throttle:
            period = duration_ms(throttle["period"]) or 1000
            g = Gcra.throttle(int(throttle["limit"]), period, int(throttle.get("burst") or 0))
            key = event_key(throttle.get("key"), event)
            tat = await self.db.gcra_reserve(tx, "throttle", fn.id, key, now, g.emission)
            start = g.start_at(tat, now)
        prio = priority_seconds((cfg.get("priority") or {}).get("run"), event)
        # Priority shifts the run's place in the queue (and in concurrency waits) by that many seconds;
        # it never moves a run ahead of its throttle slot (priority adds no capacity).
        if not (throttle and prio > 0):
            start -= prio * 1000
        timeout = duration_ms((cfg.get("timeouts") or {}).get("start"))
        if timeout is not None and start > now + timeout:
            start = now + timeout + 1  # it cannot start in time: claim it at the deadline, which cancels it
        return StartDecision(delay_until=start, items=tuple(items))

    async def _invoked_checks(self, tx: Conn, fn: FunctionDef, run: RunRecord, now: int) -> str | None:
        """Idempotency, rate limit and singleton for a run started by ``step.invoke`` (which bypasses the
        run-start gate), at its first step: the reason to skip it, or None. A skipped child makes the
        parent's invoke fail, as in Inngest."""
        cfg = fn.config
        events = run.events()
        event = events[0] if events else {}
        event_id = str(run.event_id or run.id)
        if cfg.get("idempotency"):
            key = event_key(cfg["idempotency"], event)
            if not await self.db.idempotency_claim(tx, fn.id, key, event_id, now, IDEMPOTENCY_MS):
                return "idempotency: a run with this key already started within 24 h"
        rate = cfg.get("rateLimit")
        if rate:
            g = Gcra.rate_limit(int(rate["limit"]), duration_ms(rate["period"]) or 1000)
            if not await self.db.gcra_take(tx, "rate", fn.id, event_key(rate.get("key"), event), now, g.emission,
                                           g.tolerance):  # fmt: skip
                return f"rate limit: more than {rate['limit']} runs in {rate['period']}"
        singleton = cfg.get("singleton")
        if singleton:
            key = event_key(singleton.get("key"), event)
            active = await self.db.singleton_run(tx, fn.id, key)
            if active is not None and active["id"] != run.id:
                if singleton.get("mode") != "cancel":
                    return f"singleton: run {active['id']} is active"
                assert self._rt is not None
                await self.db.unlease(tx, await self._rt.cancel(tx, active["id"], now, reason="cancelled by a newer"
                                                                " singleton run"))  # fmt: skip
            await self.db.singleton_hold(tx, fn.id, key, event_id)
        return None

    async def _skip(
        self, tx: Conn, fn: FunctionDef, events: list[dict[str, Any]], event_id: str, now: int, reason: str
    ) -> StartDecision:
        run_id = await self.db.record_skipped(tx, fn.id, fn.app_id, event_id or None, events, now, reason)
        log.info("run %s of %s skipped: %s", run_id, fn.id, reason)
        return StartDecision(action="skip", reason=reason)

    async def _start(
        self, tx: Conn, fn: FunctionDef, events: list[dict[str, Any]], event_id: str, now: int
    ) -> list[QueueItem]:
        """Start a run for events released by a batch or a debounce (after the start checks)."""
        assert self._rt is not None
        decision = await self._gate(tx, fn, events, event_id, now)
        items = list(decision.items)
        if decision.action != "start":
            return items
        item = await self._rt.start_run(tx, fn, events, event_id or None, now, available_at=decision.delay_until)
        if item is not None:
            items.append(item)
        return items

    # ---- step claim -------------------------------------------------------------------------------

    async def allow(self, item: QueueItem, fn: FunctionDef | None) -> int | None:
        if fn is None or item.kind != "call" or not _has_claim_controls(fn.config):
            return None
        assert self._concurrency is not None
        return await self._concurrency.allow(item, fn)

    async def release(self, item: QueueItem) -> None:
        if item.kind != "call" or self._concurrency is None:
            return
        await self._concurrency.release(item)

    async def timer(self, tx: Conn, item: QueueItem, now: int) -> list[QueueItem]:
        assert self._timers is not None
        if not item.kind.startswith(FLOW_KIND_PREFIX):
            return []
        return await self._timers.fire(tx, item, now)


def _has_start_controls(cfg: dict[str, Any]) -> bool:
    return any(cfg.get(k) for k in ("batchEvents", "debounce", "idempotency", "rateLimit", "singleton",
                                    "throttle", "priority", "timeouts"))  # fmt: skip


def _has_claim_controls(cfg: dict[str, Any]) -> bool:
    return any(cfg.get(k) for k in ("concurrency", "timeouts", "throttle", "idempotency", "rateLimit", "singleton"))


__all__ = ["FINISH_KIND", "FlowControl", "system_clock"]
