"""Retention: prune finished runs and old events in small batches, in the background.

Inngest's self-hosted server keeps history forever (``inngest-semantics.md`` §3). Here every
``interval`` seconds the task deletes runs that ended more than ``EngineConfig.retention_days`` ago (with
their steps, attempts and log lines) and events received before then that no unfinished run points at.
Each batch is its own short transaction and the task yields between batches, so the queue workers (which
share the SQLite connection or the PostgreSQL pool) are never blocked for long.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from .._ids import now_ms
from ..config import EngineConfig
from ..service import EngineService
from ..store import inspect as store_inspect

log = logging.getLogger(__name__)
DAY_MS = 86_400_000


@dataclass
class Pruned:
    runs: int = 0
    events: int = 0


class Retention:
    #: Seconds between passes, rows per transaction, and the pause between two batches.
    interval = 300.0
    first_delay = 30.0
    batch = 500
    pause = 0.02

    def __init__(self, service: EngineService, config: EngineConfig) -> None:
        self.service = service
        self.config = config
        self._task: asyncio.Task[None] | None = None
        self.total = Pruned()

    def start(self) -> None:
        if self.config.retention_days > 0 and self._task is None:
            self._task = asyncio.create_task(self._loop(), name="engine-retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _loop(self) -> None:
        await asyncio.sleep(self.first_delay)
        while True:
            try:
                await self.run_once()
            except Exception:  # a failed pass is retried next interval; the loop must not die
                log.exception("retention pass failed")
            await asyncio.sleep(self.interval)

    async def run_once(self, now: int | None = None) -> Pruned:
        """One pass: batches until nothing older than the cutoff is left."""
        cutoff = (now if now is not None else now_ms()) - int(self.config.retention_days * DAY_MS)
        store = self.service.store
        done = Pruned()
        while True:
            n = await store_inspect.prune_runs(store, cutoff, self.batch)
            done.runs += n
            if n < self.batch:
                break
            await asyncio.sleep(self.pause)
        while True:
            n = await store_inspect.prune_events(store, cutoff, self.batch)
            done.events += n
            if n < self.batch:
                break
            await asyncio.sleep(self.pause)
        self.total.runs += done.runs
        self.total.events += done.events
        if done.runs or done.events:
            log.info("retention pruned %d runs and %d events older than %s days", done.runs, done.events,
                     self.config.retention_days)  # fmt: skip
        return done
