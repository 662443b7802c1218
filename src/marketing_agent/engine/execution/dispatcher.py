"""The executor: claims queue items, calls apps over the SDK protocol, and records each answer.

Hot path: an answer and the next queue item are written in one transaction, and the next item is leased to
this process and executed at once by the same task, so a step hand-off costs one HTTP round trip plus one
commit. The dispatcher only claims items nobody holds: timers that came due, retries, work of a process that
died, and work enqueued by other processes (PostgreSQL NOTIFY wakes it; a poll is the fallback).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import TYPE_CHECKING, Any

from .._ids import now_ms
from ..flow.port import FLOW_KIND_PREFIX
from ..functions.model import FunctionDef
from ..store import CallState, Conn, Opcode, QueueItem, QueueKind, RunRecord
from .client import AppClient, Reply, ai_headers
from .opcodes import Applier
from .runtime import Runtime

if TYPE_CHECKING:
    from ..tracing import RunTracer

log = logging.getLogger(__name__)


class Executor:
    def __init__(self, runtime: Runtime, client: AppClient) -> None:
        self.rt = runtime
        self.store = runtime.store
        self.config = runtime.config
        self.client = client
        self._wake = asyncio.Event()
        self._next_hint: int | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._inflight = 0
        self._stopping = False
        self._loops: list[asyncio.Task[None]] = []
        runtime.on_enqueue = self.hint
        self.applier = Applier(runtime, self.hint)

    # ---- lifecycle ----------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.store.register_worker(release_all=not self.store.is_postgres)
        await self.store.listen(self.wake)
        self._loops = [
            asyncio.create_task(self._dispatch_loop(), name="engine-dispatch"),
            asyncio.create_task(self._heartbeat_loop(), name="engine-heartbeat"),
        ]

    async def stop(self, grace: float = 5.0) -> None:
        self._stopping = True
        self.wake()
        for t in self._loops:
            t.cancel()
        if self._tasks:
            _done, pending = await asyncio.wait(list(self._tasks), timeout=grace)
            for t in pending:
                t.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        await asyncio.gather(*self._loops, return_exceptions=True)
        try:
            await self.store.unregister_worker()
        except Exception:  # the store may already be gone on a hard shutdown
            log.debug("unregister failed", exc_info=True)

    def wake(self) -> None:
        self._wake.set()

    def hint(self, at: int) -> None:
        if self._next_hint is None or at < self._next_hint:
            self._next_hint = at
        self._wake.set()

    def submit(self, items: list[QueueItem]) -> None:
        """Run items leased to this process (created by an API call, e.g. event ingest)."""
        for item in items:
            self._spawn(item)

    def _spawn(self, item: QueueItem) -> None:
        if self._stopping:
            return
        task = asyncio.create_task(self._run_chain(item))
        self._tasks.add(task)
        self._inflight += 1
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._inflight -= 1
        if not task.cancelled() and task.exception() is not None:
            log.error("queue task failed", exc_info=task.exception())
        if self._inflight == self.config.max_concurrency - 1:
            self._wake.set()  # it was saturated: there is room to claim again

    # ---- background loops ---------------------------------------------------------------------------

    async def _heartbeat_loop(self) -> None:
        interval = max(0.2, self.config.lease_seconds / 3)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.store.heartbeat(self.rt.lease_ms)
                await self.store.ensure_listening()
            except Exception:
                log.exception("heartbeat failed")

    async def _dispatch_loop(self) -> None:
        while not self._stopping:
            try:
                free = self.config.max_concurrency - self._inflight
                self._wake.clear()
                if free <= 0:  # saturated: wait until a task ends (it wakes us), or the poll interval
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.config.poll_interval)
                    continue
                claimed = await self.store.claim(min(free, 64), self.rt.lease_ms)
                for item in claimed:
                    self._spawn(item)
                if len(claimed) == min(free, 64):
                    continue
                timeout = self.config.poll_interval
                due = await self.store.next_due()
                if self._next_hint is not None:
                    due = self._next_hint if due is None else min(due, self._next_hint)
                    self._next_hint = None
                if due is not None:
                    # A due item we could not claim (locked by another process) must not make us spin.
                    timeout = max(0.002, min(timeout, (due - now_ms()) / 1000))
                if timeout > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("dispatcher error")
                await asyncio.sleep(0.5)

    # ---- processing ---------------------------------------------------------------------------------

    async def _run_chain(self, item: QueueItem | None) -> None:
        state: CallState | None = None  # what the previous step left for ``item``, when it is its next call
        while item is not None and not self._stopping:
            try:
                try:
                    follow, state = await self._process(item, state)
                finally:
                    await self.rt.claim_gate.release(item)  # frees the item's concurrency slots
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("processing %s item %s of run %s failed", item.kind, item.id, item.run_id)
                await self._release_until_done(item)
                return
            item = follow[0] if follow else None
            for extra in follow[1:]:
                self._spawn(extra)

    async def _release_until_done(self, item: QueueItem) -> None:
        """Hand a failed item back to the queue, retrying while the database is away: the heartbeat keeps
        renewing this process's leases, so an item left leased here would never run again."""
        delay = 0.2
        while not self._stopping:
            await asyncio.sleep(delay)
            try:
                await self.store.release_item(item.id)
            except Exception:
                log.exception("release of item %s failed; retrying in %.1f s", item.id, delay)
                delay = min(delay * 2, 5.0)
                continue
            self._wake.set()
            return

    async def _process(self, item: QueueItem, state: CallState | None) -> tuple[list[QueueItem], CallState | None]:
        """The items to process next (the first by this task) and, when known, the first one's call state."""
        if item.kind == QueueKind.CALL:
            return await self._call(item, state)
        return await self._timer(item), None

    async def _timer(self, item: QueueItem) -> list[QueueItem]:
        now = now_ms()
        async with self.store.transaction() as tx:
            if not await self.store.item_exists(tx, item.id):
                return []
            await self.store.delete_item(tx, item.id)
            if item.kind.startswith(FLOW_KIND_PREFIX):  # debounce / batch / finish-timeout timers
                return await self.rt.claim_gate.timer(tx, item, now)
            if item.kind == QueueKind.SLEEP:
                return await self.rt.resume_step(tx, item.run_id, item.target, None, now)
            pause_id = (item.payload or {}).get("pause_id", item.target)
            pause = await self.store.take_pause(tx, pause_id)
            if pause is None:
                return []
            if item.kind == QueueKind.WAIT_TIMEOUT:
                return await self.rt.resume_step(tx, item.run_id, pause["step_id"], None, now)
            if item.kind == QueueKind.INVOKE_TIMEOUT:
                err = {"name": "InngestInvokeTimeoutError",
                       "message": "Timed out waiting for invoked function to complete"}  # fmt: skip
                return await self.rt.resume_step(tx, item.run_id, pause["step_id"], {"error": err}, now)
        log.warning("unknown queue item kind %s", item.kind)
        return []

    def _build_body(
        self,
        run: RunRecord,
        memos: tuple[tuple[str, str], ...],
        fn: FunctionDef,
        item: QueueItem,
        force_plan: bool,
    ) -> bytes:
        events_text = run.events_json
        events = json.loads(events_text)
        ctx = {
            "run_id": run.id, "attempt": item.attempt, "max_attempts": fn.max_attempts,
            "disable_immediate_execution": force_plan, "use_api": False,
            "stack": {"stack": [sid for sid, _ in memos], "current": len(memos)},
            "fn_id": fn.id, "step_id": item.target,
        }  # fmt: skip
        first = json.dumps(events[0] if events else {}, separators=(",", ":"))
        steps = ",".join(f'"{sid}":{memo}' for sid, memo in memos)
        body = (
            f'{{"ctx":{json.dumps(ctx, separators=(",", ":"))},"event":{first},"events":{events_text},'
            f'"steps":{{{steps}}},"use_api":false,"version":2}}'
        ).encode()
        if len(body) > self.config.use_api_threshold_bytes:
            ctx["use_api"] = True
            body = json.dumps(
                {"ctx": ctx, "event": json.loads(first), "events": [], "steps": {}, "use_api": True, "version": 2},
                separators=(",", ":"),
            ).encode()
        return body

    async def _call(self, item: QueueItem, state: CallState | None) -> tuple[list[QueueItem], CallState | None]:
        # A sequential run's next call reuses what its previous step wrote (the store checked, in the same
        # transaction, that the run was active): no read between two steps. Otherwise read it.
        state = state or await self.store.load_call_state(item.run_id)
        if state is None or not state.run.active:
            async with self.store.transaction() as tx:
                await self.store.delete_item(tx, item.id)
            return [], None
        run = state.run
        fn = self.rt.registry.get(run.function_id)
        if fn is None:
            await self.rt.registry.refresh()
            fn = self.rt.registry.get(run.function_id)
        if fn is None:
            async with self.store.transaction() as tx:
                locked = await self.store.lock_run(tx, item.run_id)
                if locked is None or not locked.active:
                    return [], None
                err = {"name": "FunctionNotFound", "message": f"function {run.function_id} is not registered"}
                return await self.rt.fail(tx, locked, err, now_ms()), None
        delay_to = await self.rt.claim_gate.allow(item, fn)
        if delay_to is not None:
            async with self.store.transaction() as tx:
                await self.store.reschedule_item(tx, item.id, item.attempt, delay_to)
            self.hint(delay_to)
            return [], None
        body = self._build_body(run, state.memos, fn, item, force_plan=state.pending > 0)
        url = _with_step(fn.url, item.target)
        tracer = self.rt.tracer
        span: tuple[int, str] | None = None
        if tracer is not None:  # the app's spans join the attempt's (W3C traceparent on the call)
            if tracer.known(run.id) is None:
                tracer.remember(run.id, await self.store.run_trace_parent(run.id))
            span = tracer.new_attempt(run.id)
        started = now_ms()
        reply = await self.client.post(url, body, {"traceparent": span[1]} if span else None)
        ops: list[dict[str, Any]] | None = None
        if reply.status == 206:
            try:
                ops = reply.json()
                if not isinstance(ops, list):
                    raise ValueError("206 body is not a list")
            except ValueError as exc:
                reply = Reply(0, reply.headers, reply.body, error=f"invalid 206 body: {exc}")
                ops = None
        if ops:
            ops = [await self._ai_call(op) if op.get("op") == Opcode.AI_GATEWAY else op for op in ops]
        ended = now_ms()
        if span is not None and tracer is not None:
            trace_attempt(tracer, span[0], run, item, ops, reply, started, ended)
        if ops is not None and len(ops) == 1 and ops[0].get("op") == Opcode.STEP_RUN:
            done = await self.applier.lone_step_run(item, ops[0], reply, started, ended)
            if done is not None:
                next_items, memo_json = done
                # Carried only for a run with nothing pending when its state was read: then no other item of
                # the run can have memoized a step meanwhile, and the memos read plus this one are all.
                if len(next_items) == 1 and memo_json is not None and state.pending == 0:
                    return next_items, state.after_step(str(ops[0].get("id")), memo_json, started)
                return next_items, None
        return await self._apply(item, fn, ops, reply, started, ended), None

    async def _apply(
        self, item: QueueItem, fn: FunctionDef, ops: list[dict[str, Any]] | None, reply: Reply, started: int,
        ended: int,
    ) -> list[QueueItem]:  # fmt: skip
        async with self.store.transaction() as tx:
            if not await self.store.item_exists(tx, item.id):
                return []  # someone else took over the item (our lease expired); their answer wins
            locked = await self.store.lock_run(tx, item.run_id)
            if locked is None or not locked.active:
                await self.store.delete_item(tx, item.id)
                return []
            if locked.status == "QUEUED":
                await self.store.mark_started(tx, item.run_id, started)
            if reply.status == 200:
                await self.store.delete_item(tx, item.id)
                await self.store.record_attempt(
                    tx, item.run_id, item.target, None, item.attempt, started, ended, 200, "completed"
                )
                output = reply.body.decode() if reply.body else "null"
                return await self.rt.finish(tx, locked, "COMPLETED", output, ended)
            if ops is not None:
                return await self.applier.apply(tx, locked, fn, item, ops, reply, started, ended)
            return await self._apply_error(tx, locked, fn, item, reply, started, ended)

    async def _ai_call(self, op: dict[str, Any]) -> dict[str, Any]:
        opts = op.get("opts") or {}
        headers = ai_headers(str(opts.get("format") or ""), opts.get("auth_key"), opts.get("headers"))
        reply = await self.client.provider_call(str(opts.get("url")), opts.get("body"), headers)
        out = {k: v for k, v in op.items() if k not in ("opts",)}
        out["opts"] = {k: v for k, v in opts.items() if k != "auth_key"}
        try:
            data = reply.json() if reply.body else None
        except ValueError:
            data = reply.body.decode(errors="replace")
        if 200 <= reply.status < 300:
            out["op"], out["data"] = str(Opcode.STEP_RUN), data
        else:
            message = reply.error or f"provider answered HTTP {reply.status}"
            out["op"] = str(Opcode.STEP_ERROR)
            out["error"] = {"name": "AIGatewayError", "message": message, "data": data}
        return out

    async def _apply_error(
        self,
        tx: Conn,
        run: RunRecord,
        fn: FunctionDef,
        item: QueueItem,
        reply: Reply,
        started: int,
        ended: int,
    ) -> list[QueueItem]:
        error: dict[str, Any]
        if reply.status == 0:
            error = {"name": "ConnectionError", "message": reply.error or "no answer from the app"}
        else:
            try:
                parsed = reply.json()
                error = parsed if isinstance(parsed, dict) else {"name": "Error", "message": str(parsed)}
            except ValueError:
                text = reply.body.decode(errors="replace")[:2000]
                error = {"name": "Error", "message": f"HTTP {reply.status}: {text}"}
            if "x-inngest-sdk" not in reply.headers and reply.status < 300:
                error = {"name": "Error", "message": f"HTTP {reply.status} without an SDK header"}
        no_retry = reply.headers.get("x-inngest-no-retry") == "true"
        await self.store.record_attempt(
            tx, run.id, item.target, None, item.attempt, started, ended, reply.status or None, "error", error
        )
        if not no_retry and item.attempt + 1 < fn.max_attempts:
            delay = self.applier.retry_delay(item.attempt, reply.headers.get("retry-after"))
            await self.store.reschedule_item(tx, item.id, item.attempt + 1, ended + delay)
            self.hint(ended + delay)
            return []
        await self.store.delete_item(tx, item.id)
        summary = f"invalid status code: {reply.status}" if reply.status else None
        return await self.rt.fail(tx, run, error, ended, summary=summary)


def trace_attempt(
    tracer: RunTracer, span_id: int, run: RunRecord, item: QueueItem, ops: list[dict[str, Any]] | None,
    reply: Reply, started: int, ended: int,
) -> None:  # fmt: skip
    """The attempt's span: what the app answered (opcodes, or the error) and how long the item waited."""
    error: str | None = None
    if reply.status == 200:
        outcome = "completed"
    elif ops is not None:
        outcome = ",".join(dict.fromkeys(str(op.get("op")) for op in ops)) or "none"
        for op in ops:
            if op.get("op") in (Opcode.STEP_ERROR, Opcode.STEP_FAILED):
                err = op.get("error") or {}
                error = f"{err.get('name', 'Error')}: {err.get('message', '')}" if isinstance(err, dict) else str(err)
    else:
        outcome = "error"
        error = reply.error or f"HTTP {reply.status}: {reply.body[:300].decode(errors='replace')}"
    step = next((str(op.get("displayName") or op.get("name") or op.get("id")) for op in ops or ()), item.target)
    events = run.events()
    tracer.attempt(
        span_id=span_id, run_id=run.id, function_id=run.function_id, event=events[0] if events else {},
        step=step, attempt=item.attempt, queued_at=item.available_at, started=started, ended=ended,
        status_code=reply.status, outcome=outcome, error=error,
    )  # fmt: skip


def _with_step(url: str, step: str) -> str:
    if "stepId=" in url:
        head, _, tail = url.partition("stepId=")
        rest = tail.split("&", 1)
        return head + "stepId=" + step + ("&" + rest[1] if len(rest) > 1 else "")
    return url + ("&" if "?" in url else "?") + "stepId=" + step


__all__ = ["Executor"]
