"""Run lifecycle, inside store transactions: ingest events, start runs, resume steps, finish and cancel.

Every method takes the open transaction ``tx`` and returns the queue items it created that are due now and
leased to this process, so the caller can execute them at once (no poll, no claim round trip).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._duration import parse_duration
from .._expr import matches
from .._ids import new_ulid
from ..config import EngineConfig
from ..flow.control import FlowControl
from ..flow.port import RunStartGate, StepClaimGate
from ..functions.model import FunctionDef
from ..functions.registry import Registry
from ..store import Conn, QueueItem, QueueKind, RunRecord, Store

if TYPE_CHECKING:
    from ..tracing import RunTracer

log = logging.getLogger(__name__)

SYSTEM_LIFECYCLE = ("inngest/function.failed", "inngest/function.finished", "inngest/function.cancelled")
INVOKED_EVENT = "inngest/function.invoked"


class Runtime:
    def __init__(
        self,
        config: EngineConfig,
        store: Store,
        registry: Registry,
        start_gate: RunStartGate | None = None,
        claim_gate: StepClaimGate | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.registry = registry
        # Flow control (docs/flow-control.md) unless a caller brings its own gates.
        flow = FlowControl()
        self.start_gate: RunStartGate = start_gate or flow
        self.claim_gate: StepClaimGate = claim_gate or flow
        for gate in {id(g): g for g in (self.start_gate, self.claim_gate, flow)}.values():
            bind = getattr(gate, "bind", None)
            if bind is not None:
                bind(self)
        self.lease_ms = int(config.lease_seconds * 1000)
        #: OpenTelemetry run traces (``EngineService`` sets it when ``config.otel_endpoint``); None: no tracing.
        self.tracer: RunTracer | None = None
        #: Called after a commit that enqueued work due later (the dispatcher recomputes its sleep).
        self.on_enqueue: Callable[[int], None] = lambda _at: None

    # ---- events -------------------------------------------------------------------------------------

    async def ingest(
        self,
        tx: Conn,
        events: list[tuple[str, dict[str, Any], str | None]],
        now: int,
        only_function: FunctionDef | None = None,
        cron: str | None = None,
    ) -> list[QueueItem]:
        """Store events, start the runs they trigger, resume waits and apply cancel rules they match."""
        items: list[QueueItem] = []
        fresh: list[tuple[str, dict[str, Any]]] = []
        for event_id, payload, user_id in events:
            ok = await self.store.insert_event(
                tx, event_id, payload["name"], payload, user_id, int(payload.get("ts") or now), now
            )
            if ok:
                fresh.append((event_id, payload))
        for event_id, payload in fresh:
            targets = [only_function] if only_function else self.registry.match(payload)
            for fn in targets:
                decision = await self.start_gate.admit(tx, fn, payload, now)
                items += decision.items
                if decision.action != "start":
                    continue
                item = await self.start_run(
                    tx,
                    fn,
                    [payload],
                    event_id,
                    now,
                    cron=cron,
                    available_at=decision.delay_until,
                    priority=decision.priority,
                )
                if item is not None:
                    items.append(item)
        if fresh:
            items += await self._match_pauses(tx, fresh, now)
        return items

    async def start_run(
        self,
        tx: Conn,
        fn: FunctionDef,
        events: list[dict[str, Any]],
        event_id: str | None,
        now: int,
        *,
        parent_run_id: str | None = None,
        correlation_id: str | None = None,
        cron: str | None = None,
        rerun_of: str | None = None,
        available_at: int | None = None,
        priority: int = 0,
    ) -> QueueItem | None:
        run_id = new_ulid(now)
        await self.store.create_run(
            tx,
            run_id=run_id,
            function_id=fn.id,
            app_id=fn.app_id,
            event_id=event_id,
            events=events,
            now=now,
            parent_run_id=parent_run_id,
            correlation_id=correlation_id,
            cron=cron,
            rerun_of=rerun_of,
        )
        for rule in fn.cancel:
            timeout = parse_duration(rule.get("timeout"))
            await self.store.create_pause(
                tx,
                run_id=run_id,
                step_id=None,
                kind="cancel",
                event_name=rule["event"],
                expression=rule.get("if") or None,
                correlation_id=None,
                expires_at=now + int(timeout * 1000) if timeout else None,
                data=events[0],
                now=now,
            )
        due_later = available_at is not None and available_at > now
        item = await self.store.enqueue(
            tx,
            run_id,
            QueueKind.CALL,
            "step",
            available_at=available_at,
            priority=priority,
            lease_ms=None if due_later else self.lease_ms,
        )
        if due_later:
            self.on_enqueue(item.available_at)
            return None
        return item

    async def _match_pauses(self, tx: Conn, fresh: list[tuple[str, dict[str, Any]]], now: int) -> list[QueueItem]:
        names = sorted({p["name"] for _, p in fresh})
        pauses = await self.store.pauses_for_events(tx, names)
        if not pauses:
            return []
        items: list[QueueItem] = []
        for _event_id, payload in fresh:
            for pause in pauses:
                if pause["event_name"] != payload["name"] or pause.get("_taken"):
                    continue
                if pause["expires_at"] is not None and int(pause["expires_at"]) < now:
                    if pause["kind"] == "cancel":
                        await self.store.delete_pause(tx, pause["id"])
                        pause["_taken"] = True
                    continue
                if not matches(pause["expression"], {"event": pause["data"] or {}, "async": payload}):
                    continue
                taken = await self.store.take_pause(tx, pause["id"])
                pause["_taken"] = True
                if taken is None:
                    continue
                if pause["kind"] == "wait":
                    await self.store.delete_timeout_item(tx, pause["run_id"], pause["id"])
                    items += await self.resume_step(tx, pause["run_id"], pause["step_id"], payload, now)
                elif pause["kind"] == "cancel":
                    items += await self.cancel(tx, pause["run_id"], now, reason=f"cancelled by {payload['name']}")
        return items

    # ---- steps --------------------------------------------------------------------------------------

    async def resume_step(self, tx: Conn, run_id: str, step_id: str, memo: Any, now: int) -> list[QueueItem]:
        """Memoize a step that was sleeping/waiting/invoking and continue the run when nothing else is pending."""
        run = await self.store.lock_run(tx, run_id)
        if run is None or not run.active:
            return []
        step = await self.store.step(tx, run_id, step_id)
        name = step.name if step else step_id
        op = step.op if step else "Unknown"
        status = "failed" if isinstance(memo, dict) and set(memo) == {"error"} else "completed"
        await self.store.upsert_step(tx, run_id, step_id, name=name, op=op, status=status, now=now, memo=memo)
        return await self.continue_run(tx, run, now)

    async def continue_run(self, tx: Conn, run: RunRecord, now: int, pending: int | None = None) -> list[QueueItem]:
        """Queue the next discovery call unless parallel steps are still pending (WAIT mode).

        ``pending``: the number of pending steps when the caller already knows it (saves a query).
        """
        if pending is None and not run.race:
            pending = await self.store.pending_steps(tx, run.id)
        if not run.race and pending:
            return []
        item = await self.store.enqueue(tx, run.id, QueueKind.CALL, "step", lease_ms=self.lease_ms)
        return [item]

    # ---- run end ----------------------------------------------------------------------------------

    async def finish(
        self,
        tx: Conn,
        run: RunRecord,
        status: str,
        output: str | None,
        now: int,
        error: dict[str, Any] | None = None,
        summary: str | None = None,
    ) -> list[QueueItem]:
        """Mark a run COMPLETED/FAILED/CANCELLED, emit lifecycle events, resume an invoking parent."""
        await self.store.finish_run(tx, run.id, status, output, now)
        events = run.events()
        first = events[0] if events else {}
        if self.tracer is not None:
            if self.tracer.known(run.id) is None:  # started by another process, or before a restart
                self.tracer.remember(run.id, await self.store.run_trace_parent(run.id, tx))
            message = str(error.get("message") or error.get("name")) if isinstance(error, dict) and error else None
            self.tracer.run_ended(run_id=run.id, function_id=run.function_id, event=first, status=status,
                                  queued_at=run.queued_at, ended=now, error=summary or message)  # fmt: skip
        items: list[QueueItem] = []
        result: Any = None
        if status == "COMPLETED" and output is not None:
            try:
                result = json.loads(output)
            except ValueError:
                result = output
        if run.correlation_id:
            pause = await self.store.take_pause_by_correlation(tx, run.correlation_id)
            if pause is not None:
                await self.store.delete_timeout_item(tx, pause["run_id"], pause["id"])
                if status == "COMPLETED":
                    memo: Any = {"data": result}
                elif status == "CANCELLED":
                    memo = {"error": {"name": "Error", "message": "invoked function was cancelled"}}
                else:
                    memo = {"error": _error_object(error)}
                items += await self.resume_step(tx, pause["run_id"], pause["step_id"], memo, now)
        if first.get("name") in SYSTEM_LIFECYCLE:
            return items
        base = {"function_id": run.function_id, "run_id": run.id, "event": first, "events": events}
        emitted: list[dict[str, Any]] = []
        if status == "FAILED":
            err = _error_object(error)
            emitted.append({
                "name": "inngest/function.failed", "id": new_ulid(now), "ts": now,
                "data": {**base, "error": {
                    "error": summary or f"{err['name']}: {err['message']}", "name": err["name"],
                    "message": err["message"], "stack": err.get("stack"),
                }, "_inngest": {"status": "Failed"}},
            })  # fmt: skip
        if status == "CANCELLED":
            emitted.append({"name": "inngest/function.cancelled", "id": new_ulid(now), "ts": now, "data": base})
        finished: dict[str, Any] = {**base}
        if run.correlation_id:
            finished["correlation_id"] = run.correlation_id
        if status == "COMPLETED":
            finished["result"] = result
        elif status == "FAILED":
            finished["error"] = _error_object(error)
        emitted.append({"name": "inngest/function.finished", "id": new_ulid(now), "ts": now, "data": finished})
        items += await self.ingest(tx, [(e["id"], e, None) for e in emitted], now)
        return items

    async def cancel(self, tx: Conn, run_id: str, now: int, reason: str = "cancelled") -> list[QueueItem]:
        run = await self.store.lock_run(tx, run_id)
        if run is None or not run.active:
            return []
        return await self.finish(tx, run, "CANCELLED", json.dumps({"message": reason}), now)

    async def fail(
        self, tx: Conn, run: RunRecord, error: dict[str, Any], now: int, summary: str | None = None
    ) -> list[QueueItem]:
        """Fail a run. ``summary`` is the failure event's ``error.error`` (Go: "invalid status code: 500")."""
        return await self.finish(tx, run, "FAILED", json.dumps(error), now, error=error, summary=summary)


def _error_object(error: dict[str, Any] | None) -> dict[str, Any]:
    error = dict(error or {})
    error.setdefault("name", "Error")
    error.setdefault("message", "function failed")
    if not isinstance(error["name"], str):
        error["name"] = str(error["name"])
    if not isinstance(error["message"], str):
        error["message"] = str(error["message"])
    return error
