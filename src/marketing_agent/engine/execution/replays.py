"""Bulk replay: re-run the failed or cancelled runs of one function over a time range, at a set rate.

``Replays.create`` matches the runs once (function, statuses, ``queued_at`` in [since, until), the optional
CEL filter over ``event``) and stores the list; the worker then starts them in match order at ``rate`` runs per
second, each as a new run with the original's events and ``rerun_of`` pointing at the original. Replayed runs
start directly, like a dashboard rerun: the replay's rate paces them, so the start gate (throttle, rate limit,
debounce, batching) is not applied again; the step-claim gate (concurrency) is. Several engine processes may
share the work: each tick locks the replay row, so a run is started once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .._expr import compile_expr, matches
from .._ids import new_ulid, now_ms
from ..errors import Conflict, FunctionConfigInvalid, InvalidRequest, NotFound
from ..store.replays import REPLAYABLE_STATUSES, ReplayStatus
from .dispatcher import Executor
from .runtime import Runtime

log = logging.getLogger(__name__)

#: A replay matches at most this many runs; narrow the range or add a filter beyond it.
MAX_REPLAY_RUNS = 10_000
MAX_RATE = 1000.0
DEFAULT_RATE = 10.0
#: Runs started by one tick at most (a long pause in the worker does not turn into a burst).
MAX_BURST = 50
#: The worker's sleep when no replay is running (a new one wakes it at once in this process).
IDLE_POLL_S = 1.0


@dataclass(frozen=True)
class ReplayRequest:
    """What ``POST /v1/replays`` asks for, validated."""

    function_id: str
    statuses: tuple[str, ...]
    since: int
    until: int
    filter: str | None
    rate: float

    @classmethod
    def parse(cls, body: Any, now: int) -> ReplayRequest:
        if not isinstance(body, dict):
            raise InvalidRequest("body must be a JSON object")
        function_id = body.get("function_id")
        if not isinstance(function_id, str) or not function_id:
            raise InvalidRequest("function_id is required")
        raw_statuses = body.get("statuses", list(REPLAYABLE_STATUSES))
        if not isinstance(raw_statuses, list) or not raw_statuses:
            raise InvalidRequest(f"statuses must be a non-empty list of {', '.join(REPLAYABLE_STATUSES)}")
        statuses = tuple(dict.fromkeys(str(s).upper() for s in raw_statuses))
        bad = [s for s in statuses if s not in REPLAYABLE_STATUSES]
        if bad:
            raise InvalidRequest(f"statuses: {bad[0]} cannot be replayed; use {', '.join(REPLAYABLE_STATUSES)}")
        since = _time(body.get("since"), "since")
        until = _time(body.get("until"), "until") if body.get("until") is not None else now + 1
        if since is None:
            raise InvalidRequest("since is required (milliseconds since the epoch or ISO-8601)")
        assert until is not None
        if until <= since:
            raise InvalidRequest("until must be later than since")
        expr = body.get("filter")
        if expr is not None and (not isinstance(expr, str) or not expr.strip()):
            raise InvalidRequest("filter must be a non-empty CEL expression over event")
        if expr:
            try:
                compile_expr(expr)
            except FunctionConfigInvalid as exc:
                raise InvalidRequest(f"filter: {exc}") from exc
        rate = body.get("rate", DEFAULT_RATE)
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate <= MAX_RATE:
            raise InvalidRequest(f"rate must be a number of runs per second in (0, {MAX_RATE:g}]")
        return cls(function_id, statuses, since, until, expr or None, float(rate))


def _time(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidRequest(f"{name} must be milliseconds since the epoch or an ISO-8601 time")
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return int((dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp() * 1000)
    raise InvalidRequest(f"{name} must be milliseconds since the epoch or an ISO-8601 time")


class Replays:
    """Creates replays, acts on them, and runs the worker that starts their runs."""

    def __init__(self, runtime: Runtime, executor: Executor) -> None:
        self.rt = runtime
        self.store = runtime.store
        self.executor = executor
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # ---- actions ------------------------------------------------------------------------------------

    async def create(self, body: Any) -> dict[str, Any]:
        now = now_ms()
        req = ReplayRequest.parse(body, now)
        if self.rt.registry.get(req.function_id) is None:
            raise NotFound(f"function {req.function_id} not found")
        rows = await self.store.replay_candidates(
            req.function_id, req.statuses, req.since, req.until, MAX_REPLAY_RUNS + 1
        )
        originals = [r["id"] for r in rows if _selected(req.filter, r["events"])]
        if len(rows) > MAX_REPLAY_RUNS:
            raise InvalidRequest(f"more than {MAX_REPLAY_RUNS} runs match; narrow the time range or add a filter")
        replay_id = new_ulid(now)
        async with self.store.transaction() as tx:
            await self.store.create_replay(
                tx, replay_id=replay_id, function_id=req.function_id, statuses=req.statuses, since=req.since,
                until=req.until, filter_expr=req.filter, rate=req.rate, originals=originals, now=now,
            )  # fmt: skip
        self._wake.set()
        log.info("replay %s of %s: %d runs at %g/s", replay_id, req.function_id, len(originals), req.rate)
        return await self.get(replay_id)

    async def get(self, replay_id: str, runs_limit: int = 0) -> dict[str, Any]:
        replay = await self.store.get_replay(replay_id, runs_limit)
        if replay is None:
            raise NotFound(f"replay {replay_id} not found")
        return replay

    async def pause(self, replay_id: str) -> dict[str, Any]:
        return await self._transition(replay_id, (ReplayStatus.RUNNING,), ReplayStatus.PAUSED)

    async def resume(self, replay_id: str) -> dict[str, Any]:
        return await self._transition(replay_id, (ReplayStatus.PAUSED,), ReplayStatus.RUNNING)

    async def cancel(self, replay_id: str) -> dict[str, Any]:
        return await self._transition(replay_id, (ReplayStatus.RUNNING, ReplayStatus.PAUSED), ReplayStatus.CANCELLED)

    async def _transition(self, replay_id: str, allowed: Sequence[ReplayStatus], to: ReplayStatus) -> dict[str, Any]:
        now = now_ms()
        async with self.store.transaction() as tx:
            row = await self.store.lock_replay(tx, replay_id)
            if row is None:
                raise NotFound(f"replay {replay_id} not found")
            if row["status"] == to.value:
                pass  # asked twice: the same answer
            elif row["status"] not in allowed:
                raise Conflict(f"replay {replay_id} is {row['status']}; cannot make it {to.value}")
            else:
                values: dict[str, Any] = {"status": to.value}
                if to is ReplayStatus.RUNNING:
                    values["next_at"] = now  # resume at the rate from now, not with the backlog of the pause
                if to is ReplayStatus.CANCELLED:
                    values["ended_at"] = now
                await self.store.update_replay(tx, replay_id, now, **values)
        self._wake.set()
        return await self.get(replay_id)

    # ---- worker -------------------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="engine-replays")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            timeout = IDLE_POLL_S
            try:
                for due in await self.store.replays_due():
                    wait_ms = await self.tick(str(due["id"]))
                    if wait_ms is not None:
                        timeout = min(timeout, max(0.005, wait_ms / 1000))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("replay worker failed; retrying")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def tick(self, replay_id: str) -> int | None:
        """Start the runs of ``replay_id`` that are due by its rate; end it when all are done. Returns the
        milliseconds until it needs the worker again (None: it is no longer running)."""
        now = now_ms()
        interval = 0
        submitted = []
        async with self.store.transaction() as tx:
            row = await self.store.lock_replay(tx, replay_id)
            if row is None or row["status"] != ReplayStatus.RUNNING.value:
                return None
            interval = max(1, round(1000 / float(row["rate"])))
            next_at = int(row["next_at"])
            if int(row["started"]) < int(row["matched"]):
                if next_at > now:
                    return next_at - now
                due = min(MAX_BURST, (now - next_at) // interval + 1)
                fn = self.rt.registry.get(row["function_id"])
                if fn is None:
                    await self.store.update_replay(
                        tx, replay_id, now, status=ReplayStatus.CANCELLED.value, ended_at=now,
                        error=f"function {row['function_id']} is no longer registered",
                    )  # fmt: skip
                    return None
                batch = await self.store.unstarted_replay_runs(tx, replay_id, due)
                for r in batch:
                    if r["events"] is None:  # the original was pruned meanwhile: counted as skipped
                        await self.store.set_replay_run(tx, replay_id, int(r["seq"]), "")
                        continue
                    item = await self.rt.start_run(
                        tx, fn, json.loads(r["events"]), r["event_id"], now, rerun_of=r["original_run_id"]
                    )
                    if item is not None:
                        await self.store.set_replay_run(tx, replay_id, int(r["seq"]), item.run_id)
                        submitted.append(item)
                await self.store.update_replay(
                    tx, replay_id, now, started=int(row["started"]) + len(batch),
                    next_at=max(next_at, now - interval) + len(batch) * interval,
                )  # fmt: skip
            else:
                progress = await self.store.replay_progress(tx, replay_id)
                if progress["done"] + progress["skipped"] >= int(row["matched"]):
                    await self.store.update_replay(
                        tx, replay_id, now, status=ReplayStatus.COMPLETED.value, ended_at=now
                    )
                    return None
        self.executor.submit(submitted)
        # While its runs are in flight, check for the end a few times a second.
        return interval if submitted else 250


def _selected(expr: str | None, events: list[dict[str, Any]]) -> bool:
    if not expr:
        return True
    return matches(expr, {"event": events[0] if events else {}})
