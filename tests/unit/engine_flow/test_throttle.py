"""Throttle: GCRA on run starts, excess queued FIFO and never dropped (on SQLite and PostgreSQL)."""

from __future__ import annotations

from unit.engine_flow.harness import T0, Flow


async def test_docs_example_three_at_once_then_one_every_three_seconds(flow: Flow) -> None:
    fn = await flow.register("thr", throttle={"limit": 2, "period": "6s", "burst": 1})
    for i in range(6):
        await flow.send(fn, at=T0 + i * 500)
    starts = [r["start_at"] - T0 for r in await flow.runs(fn)]
    assert starts == [0, 500, 1000, 3000, 6000, 9000]


async def test_thousand_events_one_key_never_more_than_limit_in_any_window(flow: Flow) -> None:
    fn = await flow.register("thr", throttle={"limit": 10, "period": "1m", "burst": 0, "key": "event.data.userId"})
    for i in range(1000):
        await flow.send(fn, {"userId": "u1"}, at=T0 + i)  # a 1 s burst of 1,000 events
    runs = await flow.runs(fn)
    assert len(runs) == 1000
    assert all(r["status"] == "QUEUED" for r in runs)
    starts = [int(r["start_at"]) for r in runs]
    assert starts == sorted(starts)  # FIFO: runs start in arrival order
    j = 0
    for i, t in enumerate(starts):  # the most starts in any 60 s window
        while starts[j] <= t - 60_000:
            j += 1
        assert i - j + 1 <= 10
    assert starts[-1] - T0 == 999 * 6000  # one every period/limit after the first


async def test_keys_are_throttled_separately(flow: Flow) -> None:
    fn = await flow.register("thr", throttle={"limit": 1, "period": "10s", "burst": 0, "key": "event.data.userId"})
    for user in ("a", "b", "a", "b"):
        await flow.send(fn, {"userId": user}, at=T0)
    assert [r["start_at"] - T0 for r in await flow.runs(fn)] == [0, 0, 10_000, 10_000]


async def test_first_start_is_due_now_and_executed_inline(flow: Flow) -> None:
    fn = await flow.register("thr", throttle={"limit": 1, "period": "1m", "burst": 0})
    first = await flow.send(fn, at=T0)
    second = await flow.send(fn, at=T0 + 1)
    assert len(first) == 1
    assert second == []


async def test_pruning_past_arrival_times_changes_no_decision(flow: Flow) -> None:
    fn = await flow.register("thr", throttle={"limit": 1, "period": "10s", "burst": 0})
    await flow.send(fn, at=T0)
    await flow.send(fn, at=T0)  # reserves T0 + 10 s; the key's arrival time is now T0 + 20 s
    async with flow.store.transaction() as tx:
        await flow.gate.db.prune(tx, T0 + 19_999)
        assert await tx.fetchrow("SELECT tat FROM flow_gcra") is not None  # still ahead: kept
        await flow.gate.db.prune(tx, T0 + 20_001)
        assert await tx.fetchrow("SELECT tat FROM flow_gcra") is None
    await flow.send(fn, at=T0 + 20_001)
    await flow.send(fn, at=T0 + 20_001)
    assert [r["start_at"] - T0 for r in await flow.runs(fn)] == [0, 10_000, 20_001, 30_001]


async def test_late_dispatch_does_not_bunch_throttled_starts(flow: Flow) -> None:
    fn = await flow.register("thr", throttle={"limit": 1, "period": "10s", "burst": 0})
    [first] = await flow.send(fn, at=T0)
    await flow.send(fn, at=T0)  # due at T0 + 10 s
    second = await flow.call_item((await flow.runs(fn))[1]["id"])
    flow.clock.now = T0 + 10_000  # the dispatcher fell behind: both are claimed now
    assert await flow.gate.allow(first, fn) is None
    assert await flow.gate.allow(second, fn) == T0 + 20_000  # kept 10 s after the first actual start
    assert await flow.gate.allow(first, fn) is None  # a run passes the check once (e.g. its retries)
