"""Rate limit, idempotency, singleton, priority and the start timeout (on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from typing import Any

from marketing_agent.engine.flow.control import FlowControl
from marketing_agent.engine.functions import FunctionDef
from marketing_agent.engine.store import QueueItem
from unit.engine_flow.harness import T0, Flow


async def test_rate_limit_skips_exactly_the_excess(flow: Flow) -> None:
    fn = await flow.register("rl", rateLimit={"limit": 3, "period": "1h", "key": "event.data.user"})
    for _ in range(5):
        await flow.send(fn, {"user": "a"}, at=T0)
    await flow.send(fn, {"user": "b"}, at=T0)  # another key has its own limit
    runs = await flow.runs(fn)
    assert [r["status"] for r in runs] == ["QUEUED"] * 3 + ["SKIPPED"] * 2 + ["QUEUED"]
    assert json.loads(runs[3]["output"]) == {"skipped": "rate limit: more than 3 runs in 1h"}
    await flow.send(fn, {"user": "a"}, at=T0 + 20 * 60_000 - 1)  # one start frees every period/limit
    await flow.send(fn, {"user": "a"}, at=T0 + 20 * 60_000)
    assert [r["status"] for r in (await flow.runs(fn))[-2:]] == ["SKIPPED", "QUEUED"]


async def test_skipped_runs_are_listed_with_their_reason(flow: Flow) -> None:
    fn = await flow.register("rl", rateLimit={"limit": 1, "period": "1m"})
    await flow.send(fn, at=T0)
    await flow.send(fn, at=T0)
    [skipped] = await flow.store.list_runs(status=["SKIPPED"], function_id=fn.id)
    detail = await flow.store.get_run(skipped["id"])
    assert detail is not None
    assert detail["status"] == "SKIPPED"
    assert detail["steps"] == []
    assert json.loads(detail["output"])["skipped"].startswith("rate limit")


async def test_idempotency_one_run_per_key_for_24_hours(flow: Flow) -> None:
    fn = await flow.register("idem", idempotency="event.data.orderId")
    await flow.send(fn, {"orderId": 1}, at=T0)
    await flow.send(fn, {"orderId": 1}, at=T0 + 1000)
    await flow.send(fn, {"orderId": 2}, at=T0 + 2000)
    await flow.send(fn, {"orderId": 1}, at=T0 + 24 * 3_600_000 - 1)
    await flow.send(fn, {"orderId": 1}, at=T0 + 24 * 3_600_000)
    assert [r["status"] for r in await flow.runs(fn)] == ["QUEUED", "SKIPPED", "QUEUED", "SKIPPED", "QUEUED"]


async def test_singleton_skip_keeps_the_active_run(flow: Flow) -> None:
    fn = await flow.register("one", singleton={"key": "event.data.user", "mode": "skip"})
    await flow.send(fn, {"user": "a"}, at=T0)
    await flow.send(fn, {"user": "a"}, at=T0 + 1)
    await flow.send(fn, {"user": "b"}, at=T0 + 2)
    runs = await flow.runs(fn)
    assert [r["status"] for r in runs] == ["QUEUED", "SKIPPED", "QUEUED"]
    async with flow.store.transaction() as tx:  # the first run ends: the key is free again
        run = await flow.store.lock_run(tx, runs[0]["id"])
        assert run is not None
        await flow.runtime.finish(tx, run, "COMPLETED", "null", T0 + 10)
    await flow.send(fn, {"user": "a"}, at=T0 + 20)
    assert (await flow.runs(fn))[-1]["status"] == "QUEUED"


async def test_singleton_cancel_replaces_the_active_run(flow: Flow) -> None:
    fn = await flow.register("one", singleton={"mode": "cancel"})
    await flow.send(fn, at=T0)
    await flow.send(fn, at=T0 + 1)
    assert [r["status"] for r in await flow.runs(fn)] == ["CANCELLED", "QUEUED"]
    cancelled = await flow.store.list_events(name="inngest/function.cancelled")
    assert len(cancelled) == 1


async def test_priority_moves_the_start_by_its_seconds_clamped_to_12_hours(flow: Flow) -> None:
    fn = await flow.register("prio", priority={"run": "event.data.p"})
    for p in (0, 120, -30, 100_000, "high"):
        await flow.send(fn, {"p": p}, at=T0)
    starts = [r["start_at"] - T0 for r in await flow.runs(fn)]
    assert starts == [0, -120_000, 30_000, -43_200_000, 0]


async def test_start_timeout_cancels_a_run_that_waits_too_long(flow: Flow) -> None:
    fn = await flow.register("late", throttle={"limit": 1, "period": "1m", "burst": 0}, timeouts={"start": "30s"})
    await flow.send(fn, at=T0)
    await flow.send(fn, at=T0)
    runs = await flow.runs(fn)
    assert [r["start_at"] - T0 for r in runs] == [0, 30_001]  # claimed at its deadline, not in 60 s
    flow.clock.now = T0 + 30_001
    item = await flow.call_item(runs[1]["id"])
    assert await flow.gate.allow(item, fn) == flow.clock.now
    assert [r["status"] for r in await flow.runs(fn)] == ["QUEUED", "CANCELLED"]


async def test_finish_timeout_cancels_a_started_run(flow: Flow) -> None:
    fn = await flow.register("slow", timeouts={"finish": "10s"})
    [item] = await flow.send(fn, at=T0)
    assert await flow.gate.allow(item, fn) is None  # the first step starts the finish clock
    flow.clock.now = T0 + 9_999
    assert await flow.fire_due() == []
    assert (await flow.runs(fn))[0]["status"] == "QUEUED"
    flow.clock.now = T0 + 10_000
    await flow.fire_due()
    assert (await flow.runs(fn))[0]["status"] == "CANCELLED"


async def test_priority_never_moves_a_run_ahead_of_its_throttle_slot(flow: Flow) -> None:
    fn = await flow.register(
        "prio", throttle={"limit": 1, "period": "10s", "burst": 0}, priority={"run": "event.data.p"}
    )
    for p in (0, 600, -5):
        await flow.send(fn, {"p": p}, at=T0)
    assert [r["start_at"] - T0 for r in await flow.runs(fn)] == [0, 10_000, 25_000]


async def test_a_rate_limited_run_does_not_use_up_its_idempotency_key(flow: Flow) -> None:
    fn = await flow.register("both", idempotency="event.data.k", rateLimit={"limit": 1, "period": "1m"})
    await flow.send(fn, {"k": "a"}, at=T0)
    await flow.send(fn, {"k": "b"}, at=T0)  # rate limited
    await flow.send(fn, {"k": "b"}, at=T0 + 60_000)  # the key b is still free
    assert [r["status"] for r in await flow.runs(fn)] == ["QUEUED", "SKIPPED", "QUEUED"]


async def _invoke(flow: Flow, parent: QueueItem, child: FunctionDef, n: int, data: dict[str, Any]) -> QueueItem:
    """What the executor does for step.invoke: a pause in the parent, then the child run."""
    async with flow.store.transaction() as tx:
        await flow.store.create_pause(
            tx, run_id=parent.run_id, step_id=f"inv{n}", kind="invoke", event_name=None, expression=None,
            correlation_id=f"c{n}", expires_at=None, data=None, now=T0,
        )  # fmt: skip
        event = {"name": "inngest/function.invoked", "id": f"inv-{n}", "ts": T0, "data": data}
        await flow.store.insert_event(tx, f"inv-{n}", event["name"], event, None, T0, T0)
        item = await flow.runtime.start_run(
            tx, child, [event], f"inv-{n}", T0, parent_run_id=parent.run_id, correlation_id=f"c{n}"
        )
    assert item is not None
    return item


async def test_a_rate_limited_invoked_run_is_skipped_and_fails_the_invoke(flow: Flow) -> None:
    parent_fn = await flow.register("parent")
    child_fn = await flow.register("child", rateLimit={"limit": 1, "period": "1m"})
    [parent_item] = await flow.send(parent_fn, at=T0)
    children = [await _invoke(flow, parent_item, child_fn, n, {}) for n in range(2)]
    assert await flow.gate.allow(children[0], child_fn) is None
    assert await flow.gate.allow(children[1], child_fn) == flow.clock.now
    statuses = {r["id"]: r["status"] for r in await flow.runs(child_fn)}
    assert statuses == {children[0].run_id: "QUEUED", children[1].run_id: "SKIPPED"}
    parent = await flow.store.get_run(parent_item.run_id)
    assert parent is not None
    [step] = [s for s in parent["steps"] if s["step_id"] == "inv1"]
    assert step["memo"]["error"]["name"] == "FunctionSkipped"
    assert "rate limit" in step["memo"]["error"]["message"]


async def test_an_invoked_run_waiting_for_a_slot_keeps_its_idempotency_key(flow: Flow) -> None:
    parent_fn = await flow.register("parent")
    child_fn = await flow.register("child", idempotency="event.data.k", concurrency=[{"limit": 1}])
    [parent_item] = await flow.send(parent_fn, at=T0)
    first = await _invoke(flow, parent_item, child_fn, 0, {"k": "a"})
    second = await _invoke(flow, parent_item, child_fn, 1, {"k": "b"})
    assert await flow.gate.allow(first, child_fn) is None
    assert await flow.gate.allow(second, child_fn) is not None  # no slot: it waits
    await flow.gate.release(first)
    async with flow.store.transaction() as tx:
        await flow.store.delete_item(tx, first.id)
    assert await flow.gate.allow(second, child_fn) is None  # checked again: still its own key
    other = FlowControl(clock=flow.clock)  # another process checks the same run from scratch
    other.bind(flow.runtime)
    assert await other.allow(second, child_fn) is None
    assert [r["status"] for r in await flow.runs(child_fn)] == ["QUEUED", "QUEUED"]
