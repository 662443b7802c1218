"""Cron triggers: next fire times live in the store; whichever process advances a cron first fires it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from croniter import croniter

from .._ids import new_ulid, now_ms
from ..functions.model import CronSpec, FunctionDef
from .dispatcher import Executor
from .runtime import Runtime

log = logging.getLogger(__name__)

SCHEDULED_EVENT = "inngest/scheduled.timer"


def next_fire(spec: CronSpec, after_ms: int) -> int:
    tz = ZoneInfo(spec.tz)
    start = datetime.fromtimestamp(after_ms / 1000, tz)
    nxt = croniter(spec.cron, start).get_next(datetime)
    return int(nxt.timestamp() * 1000)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def wanted_crons(functions: dict[str, FunctionDef], now: int) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for fn in functions.values():
        for trig in fn.triggers:
            if trig.cron is not None:
                out[(fn.id, trig.cron.expression)] = next_fire(trig.cron, now)
    return out


def scheduled_event(expression: str, fire_at: int) -> dict[str, object]:
    return {
        "name": SCHEDULED_EVENT,
        "id": new_ulid(fire_at),
        "ts": fire_at,
        "data": {"cron": expression, "scheduledAt": _iso(fire_at), "fireAt": _iso(fire_at)},
    }


class CronScheduler:
    """Fires due crons through the runtime (the run starts in the transaction that advances the cron) and
    hands the new queue items to the executor."""

    def __init__(self, runtime: Runtime, executor: Executor) -> None:
        self.runtime = runtime
        self.store = runtime.store
        self.executor = executor
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="engine-cron")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def wake(self) -> None:
        self._wake.set()

    async def resync(self) -> None:
        await self.store.sync_crons(wanted_crons(self.runtime.registry.functions, now_ms()))
        self.wake()

    async def _loop(self) -> None:
        while True:
            try:
                self._wake.clear()
                await self.fire_due()
                nxt = await self.store.next_cron()
                timeout = 5.0 if nxt is None else max(0.0, min(5.0, (nxt - now_ms()) / 1000))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("cron scheduler error")
                await asyncio.sleep(1)

    async def fire_due(self) -> None:
        store = self.store
        now = now_ms()
        for row in await store.due_crons(now):
            fn = self.runtime.registry.get(row["function_id"])
            spec = next((t.cron for t in fn.triggers if t.cron and t.cron.expression == row["expression"]), None) \
                if fn else None  # fmt: skip
            if fn is None or spec is None:
                continue
            fire_at = int(row["next_at"])
            async with store.transaction() as tx:
                if not await store.advance_cron(tx, fn.id, row["expression"], fire_at, next_fire(spec, now)):
                    continue
                event = scheduled_event(spec.cron, fire_at)
                items = await self.runtime.ingest(
                    tx, [(str(event["id"]), event, None)], now, only_function=fn, cron=row["expression"]
                )
            self.executor.submit(items)
