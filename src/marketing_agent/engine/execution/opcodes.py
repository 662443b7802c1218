"""Applying an SDK answer (protocol §5): one handler per opcode, looked up in :data:`HANDLERS`.

A 206 answer is a list of ops. :meth:`Applier.apply` walks it inside the transaction that also deletes the
queue item and records the attempt: ops already memoized are skipped, each other op goes to its handler,
and at the end the run's limits are checked and, if a memo was written and nothing is pending, the next
call is queued. A handler returns None to go on with the next op, or the queue items to return at once (a
retried step, a failed run). Adding an opcode is one member of ``Opcode`` and one entry in the table.

What a completed step does is said once, in :meth:`Applier.step_done`; for the common answer (one
``StepRun``), :meth:`Applier.lone_step_run` has the store do the same in one statement
(``RunOps.step_run_fast``, a PL/pgSQL function on PostgreSQL), falling back here for every case it leaves out.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from .._duration import parse_duration
from .._ids import new_ulid
from ..functions.model import FunctionDef
from ..store import DONE_STEP_STATUSES, PENDING_STEP_STATUSES, Conn, Opcode, QueueItem, QueueKind, RunRecord
from ..store import StepStatus as S
from .client import Reply
from .retry import parse_time, retry_delay
from .runtime import INVOKED_EVENT, Runtime

log = logging.getLogger(__name__)

#: Sleeps, waits without timeout and invokes without timeout end after this long at the latest.
ONE_YEAR_MS = 366 * 86_400_000


@dataclass(frozen=True)
class Op:
    """One op of an answer, as the SDK sent it (``raw``) with the fields every handler reads."""

    id: str
    opcode: Opcode | None  # None: an opcode this engine does not know
    name: str
    opts: dict[str, Any]
    raw: dict[str, Any]

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Op:
        sid = str(raw.get("id"))
        try:
            opcode: Opcode | None = Opcode(str(raw.get("op")))
        except ValueError:
            opcode = None
        return cls(sid, opcode, str(raw.get("displayName") or raw.get("name") or sid), raw.get("opts") or {}, raw)


@dataclass
class Answer:
    """One answer being applied inside ``tx``, and what its ops have done so far."""

    tx: Conn
    run: RunRecord
    fn: FunctionDef
    item: QueueItem
    reply: Reply
    started: int
    ended: int
    known: dict[str, S]  # step statuses of the run, updated as ops are applied
    follow: list[QueueItem] = field(default_factory=list)  # items due now, leased to this process
    memo_written: bool = False
    new_steps: int = 0
    new_bytes: int = 0
    outcome: str = "step"  # the attempt's outcome in the run's history

    @property
    def no_retry(self) -> bool:
        return self.reply.headers.get("x-inngest-no-retry") == "true"


Handler = Callable[["Applier", Answer, Op], Awaitable[list[QueueItem] | None]]


class Applier:
    """Applies answers for the dispatcher: its runtime (store, registry, limits) and its wake-up hint."""

    def __init__(self, runtime: Runtime, hint: Callable[[int], None]) -> None:
        self.rt = runtime
        self.store = runtime.store
        self.config = runtime.config
        self.hint = hint

    def retry_delay(self, attempt: int, retry_after: str | None) -> int:
        return retry_delay(self.config.backoff, attempt, retry_after)

    async def apply(
        self, tx: Conn, run: RunRecord, fn: FunctionDef, item: QueueItem, ops: list[dict[str, Any]], reply: Reply,
        started: int, ended: int,
    ) -> list[QueueItem]:  # fmt: skip
        a = Answer(tx, run, fn, item, reply, started, ended, await self.store.step_statuses(tx, run.id))
        parsed = [Op.parse(raw) for raw in ops]
        for op in parsed:
            if op.opts.get("parallelMode") == "race" and not a.run.race:
                await self.store.set_race(tx, a.run.id)
                a.run = replace(a.run, race=True)
            if a.known.get(op.id) in DONE_STEP_STATUSES:
                continue  # already memoized: a re-reported op
            handler = HANDLERS.get(op.opcode) if op.opcode is not None else None
            if handler is None:
                log.warning("run %s: unknown opcode %r", a.run.id, op.raw.get("op"))
                continue
            stop = await handler(self, a, op)
            if stop is not None:
                return stop
        return await self._close(a, parsed)

    async def _close(self, a: Answer, ops: list[Op]) -> list[QueueItem]:
        store, run, cfg = self.store, a.run, self.config
        await store.delete_item(a.tx, a.item.id)
        step_name = None if a.item.target == "step" else next((o.name for o in ops if o.id == a.item.target), None)
        await store.record_attempt(a.tx, run.id, a.item.target, step_name, a.item.attempt, a.started, a.ended,
                                   a.reply.status, a.outcome, None)  # fmt: skip
        if a.new_steps or a.new_bytes:
            await store.add_state(a.tx, run.id, a.new_steps, a.new_bytes)
            if run.step_count + a.new_steps > cfg.max_steps_per_run:
                err = {"name": "StepLimitExceeded", "message": f"run exceeded {cfg.max_steps_per_run} steps"}
                return await self.rt.fail(a.tx, run, err, a.ended)
            if run.state_bytes + a.new_bytes > cfg.max_run_state_bytes:
                err = {"name": "StateTooLarge", "message": f"run state exceeded {cfg.max_run_state_bytes} bytes"}
                return await self.rt.fail(a.tx, run, err, a.ended)
        if a.memo_written:
            # Steps this answer did not touch keep their status; invokes resolved inline re-check in the store.
            pending = (
                None
                if any(o.opcode is Opcode.INVOKE_FUNCTION for o in ops)
                else sum(1 for s in a.known.values() if s in PENDING_STEP_STATUSES)
            )
            a.follow += await self.rt.continue_run(a.tx, run, a.ended, pending=pending)
        return a.follow

    # ---- the handlers ---------------------------------------------------------------------------------

    async def step_error(self, a: Answer, op: Op) -> list[QueueItem] | None:
        """A step threw: retry it later, or — out of attempts or non-retriable — it failed."""
        if a.no_retry or a.item.attempt + 1 >= a.fn.max_attempts:
            return await self.step_done(a, op, failed=True)
        delay = self.retry_delay(a.item.attempt, a.reply.headers.get("retry-after"))
        await self.store.record_attempt(
            a.tx, a.run.id, a.item.target, op.name, a.item.attempt, a.started, a.ended, a.reply.status, "error",
            op.raw.get("error"),
        )  # fmt: skip
        await self.store.upsert_step(
            a.tx, a.run.id, op.id, name=op.name, op=Opcode.STEP_RUN, status=S.RETRYING, now=a.ended,
            attempts=a.item.attempt + 1, started_at=a.started,
        )  # fmt: skip
        await self.store.reschedule_item(a.tx, a.item.id, a.item.attempt + 1, a.ended + delay)
        self.hint(a.ended + delay)
        return []

    async def step_run(self, a: Answer, op: Op) -> list[QueueItem] | None:
        return await self.step_done(a, op, failed=False)

    async def step_failed(self, a: Answer, op: Op) -> list[QueueItem] | None:
        return await self.step_done(a, op, failed=True)

    async def step_done(self, a: Answer, op: Op, *, failed: bool) -> list[QueueItem] | None:
        """What a completed (or finally failed) step does: its memo is stored unless it passes the output
        limit (then the run fails), it counts toward the run's steps and state, and the run continues."""
        if failed:
            memo: Any = {"error": op.raw.get("error") or {"name": "Error", "message": "step failed"}}
        else:
            memo = {"data": op.raw.get("data")}
        size = len(json.dumps(memo, separators=(",", ":")))
        limit = self.config.max_step_output_bytes
        if size > limit:
            await self.store.delete_item(a.tx, a.item.id)
            err = {
                "name": "OutputTooLarge",
                "message": f"step {op.name!r} output is {size} bytes; the limit is {limit}",
            }
            return await self.rt.fail(a.tx, a.run, err, a.ended)
        status = S.FAILED if failed else S.COMPLETED
        await self.store.upsert_step(
            a.tx, a.run.id, op.id, name=op.name, op=Opcode.STEP_RUN, status=status, now=a.ended, memo=memo,
            attempts=a.item.attempt + 1, started_at=a.started,
        )  # fmt: skip
        a.memo_written = True
        a.known[op.id] = status
        a.new_steps += 1
        a.new_bytes += size
        a.outcome = "step_failed" if failed else "step_completed"
        return None

    async def lone_step_run(
        self, item: QueueItem, op: dict[str, Any], reply: Reply, started: int, ended: int
    ) -> tuple[list[QueueItem], str | None] | None:
        """:meth:`step_done` for an answer that is one ``StepRun``, done by the store in one round trip.

        Returns the items due now with the memo written (JSON text; None when nothing was written), or None:
        a case the store leaves to the generic path (limits, race, a step already memoized, …).
        """
        memo_text = json.dumps({"data": op.get("data")}, separators=(",", ":"), ensure_ascii=False)
        if len(memo_text) > self.config.max_step_output_bytes:
            return None
        name = str(op.get("displayName") or op.get("name") or op.get("id"))
        result = await self.store.step_run_fast(
            item, str(op.get("id")), name, memo_text, started, ended, reply.status, self.rt.lease_ms,
            self.config.max_steps_per_run, self.config.max_run_state_bytes,
        )  # fmt: skip
        if result == "fallback":
            return None
        if result == "gone":
            return [], None
        if result is None:
            return [], memo_text
        assert isinstance(result, QueueItem)
        return [result], memo_text

    async def step_planned(self, a: Answer, op: Op) -> list[QueueItem] | None:
        """A parallel step to run: its own call, leased to this process and run at once."""
        if op.id in a.known:
            return None
        await self.store.upsert_step(a.tx, a.run.id, op.id, name=op.name, op=Opcode.STEP_RUN, status=S.PLANNED,
                                     now=a.ended)  # fmt: skip
        a.follow.append(await self.store.enqueue(a.tx, a.run.id, QueueKind.CALL, op.id, lease_ms=self.rt.lease_ms))
        a.known[op.id] = S.PLANNED
        a.new_steps += 1
        a.outcome = "planned"
        return None

    async def sleep(self, a: Answer, op: Op) -> list[QueueItem] | None:
        if op.id in a.known:
            return None
        duration = parse_duration(op.opts.get("duration")) if op.opts.get("duration") else None
        wake = a.ended + int(duration * 1000) if duration is not None else parse_time(str(op.raw.get("name")))
        wake = min(wake if wake is not None else a.ended, a.ended + ONE_YEAR_MS)
        a.new_steps += 1
        a.outcome = "sleep"
        if wake <= a.ended:  # a sleep until a past time is over at once
            await self.store.upsert_step(a.tx, a.run.id, op.id, name=op.name, op=Opcode.SLEEP, status=S.COMPLETED,
                                         now=a.ended, memo=None, started_at=a.started)  # fmt: skip
            a.memo_written = True
            a.known[op.id] = S.COMPLETED
            return None
        await self.store.upsert_step(a.tx, a.run.id, op.id, name=op.name, op=Opcode.SLEEP, status=S.SLEEPING,
                                     now=a.ended, opts={"until": wake}, started_at=a.started)  # fmt: skip
        await self.store.enqueue(a.tx, a.run.id, QueueKind.SLEEP, op.id, available_at=wake)
        a.known[op.id] = S.SLEEPING
        self.hint(wake)
        return None

    async def wait_for_event(self, a: Answer, op: Op) -> list[QueueItem] | None:
        if op.id in a.known:
            return None
        opts = op.opts
        event_name = opts.get("event") or op.raw.get("name")
        timeout = parse_duration(opts.get("timeout")) if opts.get("timeout") else None
        expires = a.ended + int(timeout * 1000) if timeout else a.ended + ONE_YEAR_MS
        events = a.run.events()
        pause_id = await self.store.create_pause(
            a.tx, run_id=a.run.id, step_id=op.id, kind="wait", event_name=event_name,
            expression=opts.get("if") or None, correlation_id=None, expires_at=expires,
            data=events[0] if events else {}, now=a.started,
        )  # fmt: skip
        wait_opts = {"event": event_name, "if": opts.get("if"), "timeout": opts.get("timeout")}
        await self.store.upsert_step(a.tx, a.run.id, op.id, name=op.name, op=Opcode.WAIT_FOR_EVENT, status=S.WAITING,
                                     now=a.ended, opts=wait_opts, started_at=a.started)  # fmt: skip
        await self.store.enqueue(a.tx, a.run.id, QueueKind.WAIT_TIMEOUT, pause_id, available_at=expires)
        a.known[op.id] = S.WAITING
        self.hint(expires)
        a.new_steps += 1
        a.outcome = "wait"
        return None

    async def invoke_function(self, a: Answer, op: Op) -> list[QueueItem] | None:
        """Start a child run of another function; the parent resumes with its result, error or timeout."""
        if op.id in a.known:
            return None
        a.new_steps += 1
        a.outcome = "invoke"
        store, rt, run, opts, ended = self.store, self.rt, a.run, op.opts, a.ended
        target = rt.registry.get(str(opts.get("function_id")))
        if target is None:
            await rt.registry.refresh()
            target = rt.registry.get(str(opts.get("function_id")))
        step_opts = {"function_id": opts.get("function_id"), "timeout": opts.get("timeout")}
        await store.upsert_step(a.tx, run.id, op.id, name=op.name, op=Opcode.INVOKE_FUNCTION, status=S.INVOKING,
                                now=ended, opts=step_opts, started_at=a.started)  # fmt: skip
        if target is None:
            err = {"name": "Error", "message": f"could not find function {opts.get('function_id')!r} to invoke"}
            a.follow += await rt.resume_step(a.tx, run.id, op.id, {"error": err}, ended)
            return None
        correlation = f"{run.id}.{op.id}"
        timeout = parse_duration(opts.get("timeout")) if opts.get("timeout") else None
        expires = ended + int(timeout * 1000) if timeout else ended + ONE_YEAR_MS
        payload = opts.get("payload") or {}
        data = dict(payload.get("data") or {})
        data["_inngest"] = {
            "fn_id": target.id, "correlation_id": correlation, "source_app_id": a.fn.app_id,
            "source_fn_id": a.fn.id, "source_run_id": run.id, "expire": expires,
        }  # fmt: skip
        event_id = new_ulid(ended)
        event = {"name": INVOKED_EVENT, "id": event_id, "ts": ended, "data": data}
        pause_id = await store.create_pause(
            a.tx, run_id=run.id, step_id=op.id, kind="invoke", event_name=None, expression=None,
            correlation_id=correlation, expires_at=expires, data=None, now=ended,
        )  # fmt: skip
        await store.enqueue(a.tx, run.id, QueueKind.INVOKE_TIMEOUT, pause_id, available_at=expires)
        self.hint(expires)
        await store.insert_event(a.tx, event_id, INVOKED_EVENT, event, None, ended, ended)
        item = await rt.start_run(a.tx, target, [event], event_id, ended, parent_run_id=run.id,
                                  correlation_id=correlation)  # fmt: skip
        if item:
            a.follow.append(item)
        return None


#: Opcode → handler. ``AIGateway`` is not here: the dispatcher calls the provider first and turns the op into
#: a ``StepRun`` (2xx) or a ``StepError``.
HANDLERS: dict[Opcode, Handler] = {
    Opcode.STEP_RUN: Applier.step_run,
    Opcode.STEP_ERROR: Applier.step_error,
    Opcode.STEP_FAILED: Applier.step_failed,
    Opcode.STEP_PLANNED: Applier.step_planned,
    Opcode.SLEEP: Applier.sleep,
    Opcode.WAIT_FOR_EVENT: Applier.wait_for_event,
    Opcode.INVOKE_FUNCTION: Applier.invoke_function,
}
