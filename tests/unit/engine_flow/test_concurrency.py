"""Concurrency at step claim: slots per key, FIFO waiters, release wakes the next (SQLite and PostgreSQL)."""

from __future__ import annotations

from marketing_agent.engine.functions import FunctionDef
from marketing_agent.engine.store import QueueItem
from unit.engine_flow.harness import T0, Flow


async def _start(flow: Flow, fn: FunctionDef, data: dict[str, str], at: int) -> QueueItem:
    [item] = await flow.send(fn, data, at=at)
    return item


async def _requeue(flow: Flow, item: QueueItem, at: int) -> None:
    """What the executor does with an item the gate pushed back."""
    async with flow.store.transaction() as tx:
        await flow.store.reschedule_item(tx, item.id, item.attempt, at)


async def _available_at(flow: Flow, item: QueueItem) -> int:
    async with flow.store.transaction() as tx:
        row = await tx.fetchrow("SELECT available_at FROM queue WHERE id = ?", item.id)
    assert row is not None
    return int(row["available_at"])


async def test_limit_per_key_and_fifo_wake_up(flow: Flow) -> None:
    fn = await flow.register("conc", concurrency=[{"limit": 2, "key": "event.data.user"}])
    a = [await _start(flow, fn, {"user": "a"}, T0 + i) for i in range(4)]
    b = await _start(flow, fn, {"user": "b"}, T0 + 10)
    assert await flow.gate.allow(a[0], fn) is None
    assert await flow.gate.allow(a[1], fn) is None
    assert await flow.gate.allow(a[2], fn) == T0 + 100  # first in line: retries soon
    assert await flow.gate.allow(a[3], fn) == T0 + 100
    await _requeue(flow, a[2], T0 + 10_000)  # (as if their retries were far off)
    await _requeue(flow, a[3], T0 + 10_000)
    assert await flow.gate.allow(b, fn) is None  # a busy key does not hold another key back
    flow.clock.now = T0 + 500
    await flow.gate.release(a[0])  # a slot frees: the oldest waiter is due at once, the next still waits
    assert await _available_at(flow, a[2]) == T0 + 500
    assert await _available_at(flow, a[3]) == T0 + 10_000
    async with flow.store.transaction() as tx:
        await flow.store.delete_item(tx, a[0].id)
    # The younger waiter is claimed first (e.g. by another process): it must not overtake the older one.
    async with flow.store.transaction() as tx:
        await tx.execute("UPDATE queue SET lease_owner = ?, lease_until = ? WHERE id IN (?, ?)",
                         flow.store.worker_id, T0 + 60_000, a[2].id, a[3].id)  # fmt: skip
    assert await flow.gate.allow(a[3], fn) is not None
    assert await flow.gate.allow(a[2], fn) is None


async def test_two_limits_both_must_have_room(flow: Flow) -> None:
    fn = await flow.register(
        "conc", concurrency=[{"limit": 3, "key": "event.data.user"}, {"limit": 1, "key": '"shared"', "scope": "env"}]
    )
    other = await flow.register("other", concurrency=[{"limit": 1, "key": '"shared"', "scope": "env"}])
    first = await _start(flow, fn, {"user": "a"}, T0)
    second = await _start(flow, fn, {"user": "b"}, T0 + 1)
    assert await flow.gate.allow(first, fn) is None
    assert await flow.gate.allow(second, fn) is not None  # the env limit of 1 is full
    third = await _start(flow, other, {}, T0 + 2)
    assert await flow.gate.allow(third, other) is not None  # env scope: shared across functions by key value


async def test_a_slot_is_free_once_its_item_is_gone_even_without_release(flow: Flow) -> None:
    fn = await flow.register("conc", concurrency=[{"limit": 1}])
    first = await _start(flow, fn, {}, T0)
    second = await _start(flow, fn, {}, T0 + 1)
    assert await flow.gate.allow(first, fn) is None
    async with flow.store.transaction() as tx:  # the step finished in a process that then died
        await flow.store.delete_item(tx, first.id)
    assert await flow.gate.allow(second, fn) is None


async def test_a_waiter_is_back_by_its_start_timeout_and_then_cancelled(flow: Flow) -> None:
    fn = await flow.register("conc", concurrency=[{"limit": 1}], timeouts={"start": "2s"})
    items = [await _start(flow, fn, {}, T0) for _ in range(31)]
    assert await flow.gate.allow(items[0], fn) is None
    retries = [await flow.gate.allow(item, fn) for item in items[1:]]
    assert retries[0] == T0 + 100  # first in line: soon
    assert retries[-1] == T0 + 2001  # 29 ahead would mean 3 s: capped at the start deadline
    flow.clock.now = T0 + 2001
    assert await flow.gate.allow(items[-1], fn) == T0 + 2001
    run = (await flow.runs(fn))[-1]
    assert run["status"] == "CANCELLED"
