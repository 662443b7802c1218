"""Flow-control hooks (concurrency, throttle, rate limit, debounce, batching, priority, idempotency,
singleton, timeouts). The queue calls these gates; :class:`~.control.FlowControl` implements them all
(``docs/flow-control.md``), :class:`AdmitAll` / :class:`AllowAll` admit everything.

* :class:`RunStartGate` is consulted inside the event-ingest transaction, once per (function, event) match,
  before a run is created. It may start the run now, start it later (``delay_until``: throttle, priority),
  skip it (rate limit, idempotency, singleton ``skip``), or hold the event (debounce, batching: the gate keeps
  the event and creates the run itself later). Queue items it created on the way (a run it started, the
  lifecycle runs of a run it cancelled) come back in ``items`` so the caller executes them.
* :class:`StepClaimGate` is consulted by the executor for every claimed ``call`` item before the app is
  called (concurrency per key, start timeouts): it may let the item run or push it back to a later time.
  ``release`` follows every processed item (frees concurrency slots, wakes the next waiter) and ``timer``
  handles the gate's own queue items (kinds starting with ``flow.``: debounce, batch and finish timers).

The full registered config of the function is available to all of them as ``FunctionDef.config``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..functions.model import FunctionDef
    from ..functions.registry import Registry
    from ..store import Conn, QueueItem, RunRecord, Store

#: Queue item kinds owned by flow control start with this prefix.
FLOW_KIND_PREFIX = "flow."


@dataclass(frozen=True)
class StartDecision:
    action: str = "start"  # start | skip | hold
    delay_until: int | None = None  # ms epoch: start, but not before this (throttle, priority)
    priority: int = 0  # queue priority of the run's first item
    reason: str | None = None
    items: tuple[QueueItem, ...] = ()  # queue items the gate created, due now and leased to this process


START = StartDecision()

#: Milliseconds since the epoch; injectable so tests run minutes of flow-control time in seconds.
Clock = Callable[[], int]


class RunLifecycle(Protocol):
    """What flow control may do to runs, and all it sees of the engine: the runtime
    (``execution/runtime.py``) implements it and binds itself, so flow control never imports the runtime."""

    @property
    def store(self) -> Store: ...

    @property
    def registry(self) -> Registry: ...

    async def start_run(
        self,
        tx: Conn,
        fn: FunctionDef,
        events: list[dict[str, Any]],
        event_id: str | None,
        now: int,
        *,
        available_at: int | None = None,
    ) -> QueueItem:
        """Create the run and its first queue item (leased to this process when due now)."""
        ...

    async def finish(
        self,
        tx: Conn,
        run: RunRecord,
        status: str,
        output: str | None,
        now: int,
        error: dict[str, Any] | None = None,
    ) -> list[QueueItem]:
        """End the run with ``status``; returns the lifecycle runs' items (``function.finished`` …)."""
        ...

    async def cancel(self, tx: Conn, run_id: str, now: int, reason: str = "cancelled") -> list[QueueItem]: ...

    def on_enqueue(self, at: int) -> None:
        """An item became due at ``at`` (ms epoch): wake the dispatcher then."""
        ...


class RunStartGate(Protocol):
    async def admit(self, tx: Conn, fn: FunctionDef, event: dict[str, Any], now: int) -> StartDecision: ...


class StepClaimGate(Protocol):
    async def allow(self, item: QueueItem, fn: FunctionDef | None) -> int | None:
        """None: run it now. An int: requeue the item at that time (ms epoch)."""
        ...

    async def release(self, item: QueueItem) -> None:
        """The item was processed (or given up): free what ``allow`` took for it."""
        ...

    async def timer(self, tx: Conn, item: QueueItem, now: int) -> list[QueueItem]:
        """Handle a ``flow.*`` queue item (already deleted in ``tx``); returns items due now."""
        ...


class AdmitAll:
    async def admit(self, tx: Conn, fn: FunctionDef, event: dict[str, Any], now: int) -> StartDecision:
        return START


class AllowAll:
    async def allow(self, item: QueueItem, fn: FunctionDef | None) -> int | None:
        return None

    async def release(self, item: QueueItem) -> None:
        return None

    async def timer(self, tx: Conn, item: QueueItem, now: int) -> list[QueueItem]:
        return []
