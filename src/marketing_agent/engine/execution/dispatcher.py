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
import random
from datetime import UTC, datetime
from typing import Any

from .._duration import parse_duration
from .._ids import new_ulid, now_ms
from ..flow.port import FLOW_KIND_PREFIX
from ..functions.model import FunctionDef
from ..store import ACTIVE_STATUSES, PENDING_STEP_STATUSES, Conn, QueueItem
from .client import AppClient, Reply, ai_headers
from .runtime import INVOKED_EVENT, Runtime

log = logging.getLogger(__name__)

ONE_YEAR_MS = 366 * 86_400_000
DAY_MS = 86_400_000


def parse_time(text: str) -> int | None:
    """ISO-8601 (the SDK's ``2030-01-02T03:04:05.000Z``) → ms epoch."""
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


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
        while item is not None and not self._stopping:
            try:
                try:
                    follow = await self._process(item)
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

    async def _process(self, item: QueueItem) -> list[QueueItem]:
        if item.kind == "call":
            return await self._call(item)
        now = now_ms()
        async with self.store.transaction() as tx:
            if not await self.store.item_exists(tx, item.id):
                return []
            await self.store.delete_item(tx, item.id)
            if item.kind.startswith(FLOW_KIND_PREFIX):  # debounce / batch / finish-timeout timers
                return await self.rt.claim_gate.timer(tx, item, now)
            if item.kind == "sleep":
                return await self.rt.resume_step(tx, item.run_id, item.target, None, now)
            pause_id = (item.payload or {}).get("pause_id", item.target)
            pause = await self.store.take_pause(tx, pause_id)
            if pause is None:
                return []
            if item.kind == "wait_timeout":
                return await self.rt.resume_step(tx, item.run_id, pause["step_id"], None, now)
            if item.kind == "invoke_timeout":
                err = {"name": "InngestInvokeTimeoutError",
                       "message": "Timed out waiting for invoked function to complete"}  # fmt: skip
                return await self.rt.resume_step(tx, item.run_id, pause["step_id"], {"error": err}, now)
        log.warning("unknown queue item kind %s", item.kind)
        return []

    def _build_body(
        self,
        run: dict[str, Any],
        memos: list[tuple[str, str]],
        fn: FunctionDef,
        item: QueueItem,
        force_plan: bool,
    ) -> bytes:
        events_text = run["events"]
        events = json.loads(events_text)
        ctx = {
            "run_id": run["id"], "attempt": item.attempt, "max_attempts": fn.max_attempts,
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

    async def _call(self, item: QueueItem) -> list[QueueItem]:
        run, memos, pending = await self.store.load_call_state(item.run_id)
        if run is None or run["status"] not in ACTIVE_STATUSES:
            async with self.store.transaction() as tx:
                await self.store.delete_item(tx, item.id)
            return []
        fn = self.rt.registry.get(run["function_id"])
        if fn is None:
            await self.rt.registry.refresh()
            fn = self.rt.registry.get(run["function_id"])
        if fn is None:
            async with self.store.transaction() as tx:
                locked = await self.store.lock_run(tx, item.run_id)
                if locked is None or locked["status"] not in ACTIVE_STATUSES:
                    return []
                err = {"name": "FunctionNotFound", "message": f"function {run['function_id']} is not registered"}
                return await self.rt.fail(tx, locked, err, now_ms())
        delay_to = await self.rt.claim_gate.allow(item, fn)
        if delay_to is not None:
            async with self.store.transaction() as tx:
                await self.store.reschedule_item(tx, item.id, item.attempt, delay_to)
            self.hint(delay_to)
            return []
        force_plan = pending > 0
        body = self._build_body(run, memos, fn, item, force_plan)
        url = _with_step(fn.url, item.target)
        started = now_ms()
        reply = await self.client.post(url, body)
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
            ops = [await self._ai_call(op) if op.get("op") == "AIGateway" else op for op in ops]
        ended = now_ms()
        if ops is not None and len(ops) == 1 and ops[0].get("op") == "StepRun":
            fast = await self._step_run_fast(item, ops[0], reply, started, ended)
            if fast != "fallback":
                return fast  # type: ignore[return-value]
        async with self.store.transaction() as tx:
            if not await self.store.item_exists(tx, item.id):
                return []  # someone else took over the item (our lease expired); their answer wins
            locked = await self.store.lock_run(tx, item.run_id)
            if locked is None or locked["status"] not in ACTIVE_STATUSES:
                await self.store.delete_item(tx, item.id)
                return []
            if locked["status"] == "QUEUED":
                await self.store.mark_started(tx, item.run_id, started)
            if reply.status == 200:
                await self.store.delete_item(tx, item.id)
                await self.store.record_attempt(
                    tx, item.run_id, item.target, None, item.attempt, started, ended, 200, "completed"
                )
                output = reply.body.decode() if reply.body else "null"
                return await self.rt.finish(tx, locked, "COMPLETED", output, ended)
            if ops is not None:
                return await self._apply_ops(tx, locked, fn, item, ops, reply, started, ended)
            return await self._apply_error(tx, locked, fn, item, reply, started, ended)

    async def _step_run_fast(
        self, item: QueueItem, op: dict[str, Any], reply: Reply, started: int, ended: int
    ) -> list[QueueItem] | str:
        """Hot path for the common answer (one StepRun): one statement on PostgreSQL, few on SQLite."""
        memo_text = json.dumps({"data": op.get("data")}, separators=(",", ":"), ensure_ascii=False)
        if len(memo_text) > self.config.max_step_output_bytes:
            return "fallback"
        name = str(op.get("displayName") or op.get("name") or op.get("id"))
        result = await self.store.step_run_fast(
            item, str(op.get("id")), name, memo_text, started, ended, reply.status, self.rt.lease_ms,
            self.config.max_steps_per_run, self.config.max_run_state_bytes,
        )  # fmt: skip
        if result == "fallback":
            return "fallback"
        if result == "gone" or result is None:
            return []
        assert isinstance(result, QueueItem)
        return [result]

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
            out["op"], out["data"] = "StepRun", data
        else:
            message = reply.error or f"provider answered HTTP {reply.status}"
            out["op"] = "StepError"
            out["error"] = {"name": "AIGatewayError", "message": message, "data": data}
        return out

    async def _apply_ops(
        self,
        tx: Conn,
        run: dict[str, Any],
        fn: FunctionDef,
        item: QueueItem,
        ops: list[dict[str, Any]],
        reply: Reply,
        started: int,
        ended: int,
    ) -> list[QueueItem]:
        store, rt, cfg = self.store, self.rt, self.config
        known = await store.step_statuses(tx, run["id"])
        no_retry = reply.headers.get("x-inngest-no-retry") == "true"
        follow: list[QueueItem] = []
        memo_written = False
        new_steps = 0
        new_bytes = 0
        outcome = "step"
        for op in ops:
            sid = str(op.get("id"))
            kind = op.get("op")
            name = str(op.get("displayName") or op.get("name") or sid)
            opts = op.get("opts") or {}
            if (opts or {}).get("parallelMode") == "race" and not run["race"]:
                await store.set_race(tx, run["id"])
                run = {**run, "race": 1}
            status = known.get(sid)
            if status in ("completed", "failed"):
                continue  # already memoized: a re-reported op
            if kind == "StepError":
                if not no_retry and item.attempt + 1 < fn.max_attempts:
                    delay = self._retry_delay(item.attempt, reply.headers.get("retry-after"))
                    await store.record_attempt(
                        tx, run["id"], item.target, name, item.attempt, started, ended, reply.status, "error",
                        op.get("error"),
                    )  # fmt: skip
                    await store.upsert_step(
                        tx, run["id"], sid, name=name, op="StepRun", status="retrying", now=ended,
                        attempts=item.attempt + 1, started_at=started,
                    )  # fmt: skip
                    await store.reschedule_item(tx, item.id, item.attempt + 1, ended + delay)
                    self.hint(ended + delay)
                    return []
                kind = "StepFailed"
            if kind in ("StepRun", "StepFailed"):
                if kind == "StepRun":
                    memo: Any = {"data": op.get("data")}
                    step_status = "completed"
                else:
                    memo = {"error": op.get("error") or {"name": "Error", "message": "step failed"}}
                    step_status = "failed"
                size = len(json.dumps(memo, separators=(",", ":")))
                if size > cfg.max_step_output_bytes:
                    await store.delete_item(tx, item.id)
                    limit = cfg.max_step_output_bytes
                    err = {
                        "name": "OutputTooLarge",
                        "message": f"step {name!r} output is {size} bytes; the limit is {limit}",
                    }
                    return await rt.fail(tx, run, err, ended)
                await store.upsert_step(
                    tx, run["id"], sid, name=name, op="StepRun", status=step_status, now=ended, memo=memo,
                    attempts=item.attempt + 1, started_at=started,
                )  # fmt: skip
                memo_written = True
                known[sid] = step_status
                new_steps += 1
                new_bytes += size
                outcome = "step_completed" if kind == "StepRun" else "step_failed"
            elif kind == "StepPlanned":
                if status is not None:
                    continue
                await store.upsert_step(tx, run["id"], sid, name=name, op="StepRun", status="planned", now=ended)
                follow.append(await store.enqueue(tx, run["id"], "call", sid, lease_ms=rt.lease_ms))
                known[sid] = "planned"
                new_steps += 1
                outcome = "planned"
            elif kind == "Sleep":
                if status is not None:
                    continue
                duration = parse_duration(opts.get("duration")) if opts.get("duration") else None
                wake = ended + int(duration * 1000) if duration is not None else parse_time(str(op.get("name")))
                wake = min(wake if wake is not None else ended, ended + ONE_YEAR_MS)
                new_steps += 1
                if wake <= ended:
                    await store.upsert_step(tx, run["id"], sid, name=name, op="Sleep", status="completed",
                                            now=ended, memo=None, started_at=started)  # fmt: skip
                    memo_written = True
                    known[sid] = "completed"
                else:
                    await store.upsert_step(tx, run["id"], sid, name=name, op="Sleep", status="sleeping",
                                            now=ended, opts={"until": wake}, started_at=started)  # fmt: skip
                    await store.enqueue(tx, run["id"], "sleep", sid, available_at=wake)
                    known[sid] = "sleeping"
                    self.hint(wake)
                outcome = "sleep"
            elif kind == "WaitForEvent":
                if status is not None:
                    continue
                event_name = opts.get("event") or op.get("name")
                timeout = parse_duration(opts.get("timeout")) if opts.get("timeout") else None
                expires = ended + int(timeout * 1000) if timeout else ended + ONE_YEAR_MS
                events = json.loads(run["events"])
                pause_id = await store.create_pause(
                    tx, run_id=run["id"], step_id=sid, kind="wait", event_name=event_name,
                    expression=opts.get("if") or None, correlation_id=None, expires_at=expires,
                    data=events[0] if events else {}, now=started,
                )  # fmt: skip
                wait_opts = {"event": event_name, "if": opts.get("if"), "timeout": opts.get("timeout")}
                await store.upsert_step(
                    tx,
                    run["id"],
                    sid,
                    name=name,
                    op="WaitForEvent",
                    status="waiting",
                    now=ended,
                    opts=wait_opts,
                    started_at=started,
                )
                await store.enqueue(tx, run["id"], "wait_timeout", pause_id, available_at=expires)
                known[sid] = "waiting"
                self.hint(expires)
                new_steps += 1
                outcome = "wait"
            elif kind == "InvokeFunction":
                if status is not None:
                    continue
                new_steps += 1
                outcome = "invoke"
                follow += await self._invoke(tx, run, fn, sid, name, opts, started, ended)
            else:
                log.warning("run %s: unknown opcode %r", run["id"], kind)
        await store.delete_item(tx, item.id)
        await store.record_attempt(tx, run["id"], item.target, None if item.target == "step" else
                                   _name_of(ops, item.target), item.attempt, started, ended, reply.status,
                                   outcome, None)  # fmt: skip
        if new_steps or new_bytes:
            await store.add_state(tx, run["id"], new_steps, new_bytes)
            if int(run["step_count"]) + new_steps > cfg.max_steps_per_run:
                err = {"name": "StepLimitExceeded", "message": f"run exceeded {cfg.max_steps_per_run} steps"}
                return await rt.fail(tx, run, err, ended)
            if int(run["state_bytes"]) + new_bytes > cfg.max_run_state_bytes:
                err = {"name": "StateTooLarge",
                       "message": f"run state exceeded {cfg.max_run_state_bytes} bytes"}  # fmt: skip
                return await rt.fail(tx, run, err, ended)
        if memo_written:
            # Steps this answer did not touch keep their status; invokes resolved inline re-check in the store.
            pending = (
                None
                if any(op.get("op") == "InvokeFunction" for op in ops)
                else sum(1 for s in known.values() if s in PENDING_STEP_STATUSES)
            )
            follow += await rt.continue_run(tx, run, ended, pending=pending)
        return follow

    async def _invoke(
        self,
        tx: Conn,
        run: dict[str, Any],
        fn: FunctionDef,
        sid: str,
        name: str,
        opts: dict[str, Any],
        started: int,
        ended: int,
    ) -> list[QueueItem]:
        store, rt = self.store, self.rt
        target = rt.registry.get(str(opts.get("function_id")))
        if target is None:
            await rt.registry.refresh()
            target = rt.registry.get(str(opts.get("function_id")))
        await store.upsert_step(tx, run["id"], sid, name=name, op="InvokeFunction", status="invoking", now=ended,
                                opts={"function_id": opts.get("function_id"), "timeout": opts.get("timeout")},
                                started_at=started)  # fmt: skip
        if target is None:
            err = {"name": "Error", "message": f"could not find function {opts.get('function_id')!r} to invoke"}
            return await rt.resume_step(tx, run["id"], sid, {"error": err}, ended)
        correlation = f"{run['id']}.{sid}"
        timeout = parse_duration(opts.get("timeout")) if opts.get("timeout") else None
        expires = ended + int(timeout * 1000) if timeout else ended + ONE_YEAR_MS
        payload = opts.get("payload") or {}
        data = dict(payload.get("data") or {})
        data["_inngest"] = {
            "fn_id": target.id, "correlation_id": correlation, "source_app_id": fn.app_id,
            "source_fn_id": fn.id, "source_run_id": run["id"], "expire": expires,
        }  # fmt: skip
        event_id = new_ulid(ended)
        event = {"name": INVOKED_EVENT, "id": event_id, "ts": ended, "data": data}
        pause_id = await store.create_pause(
            tx, run_id=run["id"], step_id=sid, kind="invoke", event_name=None, expression=None,
            correlation_id=correlation, expires_at=expires, data=None, now=ended,
        )  # fmt: skip
        await store.enqueue(tx, run["id"], "invoke_timeout", pause_id, available_at=expires)
        self.hint(expires)
        await store.insert_event(tx, event_id, INVOKED_EVENT, event, None, ended, ended)
        item = await rt.start_run(
            tx, target, [event], event_id, ended, parent_run_id=run["id"], correlation_id=correlation
        )
        return [item] if item else []

    async def _apply_error(
        self,
        tx: Conn,
        run: dict[str, Any],
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
            tx, run["id"], item.target, None, item.attempt, started, ended, reply.status or None, "error", error
        )
        if not no_retry and item.attempt + 1 < fn.max_attempts:
            delay = self._retry_delay(item.attempt, reply.headers.get("retry-after"))
            await self.store.reschedule_item(tx, item.id, item.attempt + 1, ended + delay)
            self.hint(ended + delay)
            return []
        await self.store.delete_item(tx, item.id)
        summary = f"invalid status code: {reply.status}" if reply.status else None
        return await self.rt.fail(tx, run, error, ended, summary=summary)

    def _retry_delay(self, attempt: int, retry_after: str | None) -> int:
        if retry_after:
            at: int | None
            text = retry_after.strip()
            at = now_ms() + int(text) * 1000 if len(text) <= 7 and text.isdigit() else parse_time(text)
            if at is not None:
                return int(min(max(at - now_ms(), 1000), DAY_MS))
        table, jitter = self.config.backoff
        base = table[min(attempt, len(table) - 1)]
        return int((base + random.random() * jitter) * 1000)


def _with_step(url: str, step: str) -> str:
    if "stepId=" in url:
        head, _, tail = url.partition("stepId=")
        rest = tail.split("&", 1)
        return head + "stepId=" + step + ("&" + rest[1] if len(rest) > 1 else "")
    return url + ("&" if "?" in url else "?") + "stepId=" + step


def _name_of(ops: list[dict[str, Any]], sid: str) -> str | None:
    for op in ops:
        if op.get("id") == sid:
            return str(op.get("displayName") or op.get("name"))
    return None


__all__ = ["Executor", "new_ulid"]
