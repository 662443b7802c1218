"""Flow-control hooks (concurrency, throttle, rate limit, debounce, batching, priority, idempotency,
singleton, timeouts). The queue calls these two gates; the defaults admit everything.

* :class:`RunStartGate` is consulted inside the event-ingest transaction, once per (function, event) match,
  before a run is created. It may start the run now, start it later (``delay_until``: throttle), skip it
  (rate limit, idempotency, singleton ``skip``), or hold the event (debounce, batching: the gate keeps the
  event and creates the run itself later through ``Runtime.start_run``).
* :class:`StepClaimGate` is consulted by the dispatcher for every claimed queue item before the app is
  called (concurrency per key): it may let the item run or push it back to a later time.

The full registered config of the function is available to both as ``FunctionDef.config``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .functions import FunctionDef
    from .store import Conn, QueueItem


@dataclass(frozen=True)
class StartDecision:
    action: str = "start"  # start | skip | hold
    delay_until: int | None = None  # ms epoch: start, but not before this (throttle)
    priority: int = 0  # queue priority of the run's first item (priority.run)
    reason: str | None = None


START = StartDecision()


class RunStartGate(Protocol):
    async def admit(self, tx: Conn, fn: FunctionDef, event: dict[str, Any], now: int) -> StartDecision: ...


class StepClaimGate(Protocol):
    async def allow(self, item: QueueItem, fn: FunctionDef | None) -> int | None:
        """None: run it now. An int: requeue the item at that time (ms epoch)."""
        ...


class AdmitAll:
    async def admit(self, tx: Conn, fn: FunctionDef, event: dict[str, Any], now: int) -> StartDecision:
        return START


class AllowAll:
    async def allow(self, item: QueueItem, fn: FunctionDef | None) -> int | None:
        return None
