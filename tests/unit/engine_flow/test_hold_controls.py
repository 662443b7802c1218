"""Debounce and batching: events held in the store until a timer or a full batch starts the run."""

from __future__ import annotations

import json

from unit.engine_flow.harness import T0, Flow


async def test_debounce_runs_once_with_the_last_event_after_a_quiet_period(flow: Flow) -> None:
    fn = await flow.register("deb", debounce={"period": "2s", "key": "event.data.user"})
    await flow.send(fn, {"user": "a", "n": 1}, at=T0)
    await flow.send(fn, {"user": "a", "n": 2}, at=T0 + 1000)
    await flow.send(fn, {"user": "b", "n": 3}, at=T0 + 1500)
    flow.clock.now = T0 + 2999
    assert await flow.fire_due() == []
    assert await flow.runs(fn) == []
    flow.clock.now = T0 + 3000  # a: 2 s after its last event
    items = await flow.fire_due()
    runs = await flow.runs(fn)
    assert len(items) == 1
    assert [json.loads(r["events"])[0]["data"] for r in runs] == [{"user": "a", "n": 2}]
    flow.clock.now = T0 + 3500
    await flow.fire_due()
    assert len(await flow.runs(fn)) == 2


async def test_debounce_timeout_bounds_the_delay(flow: Flow) -> None:
    fn = await flow.register("deb", debounce={"period": "2s", "timeout": "5s"})
    for i in range(8):  # an event every second keeps pushing the run back, but not past the timeout
        await flow.send(fn, {"n": i}, at=T0 + i * 1000)
        flow.clock.now = T0 + i * 1000
        await flow.fire_due()
    runs = await flow.runs(fn)
    assert [json.loads(r["events"])[0]["data"]["n"] for r in runs] == [5]
    flow.clock.now = T0 + 9000  # the events after the timeout open a new debounce: 7 is the last
    await flow.fire_due()
    assert [json.loads(r["events"])[0]["data"]["n"] for r in await flow.runs(fn)] == [5, 7]


async def test_batch_closes_at_max_size_with_every_event(flow: Flow) -> None:
    fn = await flow.register("bat", batchEvents={"maxSize": 3, "timeout": "5s"})
    assert await flow.send(fn, {"n": 1}, at=T0) == []
    assert await flow.send(fn, {"n": 2}, at=T0 + 1) == []
    items = await flow.send(fn, {"n": 3}, at=T0 + 2)
    [run] = await flow.runs(fn)
    assert len(items) == 1
    assert items[0].run_id == run["id"]
    assert [e["data"]["n"] for e in json.loads(run["events"])] == [1, 2, 3]
    assert run["event_id"] == "evt-000001"  # the first event triggers it


async def test_batch_closes_at_its_timeout(flow: Flow) -> None:
    fn = await flow.register("bat", batchEvents={"maxSize": 100, "timeout": "5s", "key": "event.data.user"})
    await flow.send(fn, {"user": "a", "n": 1}, at=T0)
    await flow.send(fn, {"user": "b", "n": 2}, at=T0 + 1000)
    await flow.send(fn, {"user": "a", "n": 3}, at=T0 + 2000)
    flow.clock.now = T0 + 5000
    await flow.fire_due()
    [run] = await flow.runs(fn)
    assert [e["data"]["n"] for e in json.loads(run["events"])] == [1, 3]
    flow.clock.now = T0 + 6000
    await flow.fire_due()
    assert len(await flow.runs(fn)) == 2


async def test_batch_if_false_runs_the_event_at_once(flow: Flow) -> None:
    fn = await flow.register("bat", batchEvents={"maxSize": 10, "timeout": "5s", "if": "event.data.batch == true"})
    await flow.send(fn, {"batch": True}, at=T0)
    items = await flow.send(fn, {"batch": False}, at=T0)
    [run] = await flow.runs(fn)
    assert len(items) == 1
    assert [e["data"] for e in json.loads(run["events"])] == [{"batch": False}]


async def test_batch_closes_at_10_mib(flow: Flow) -> None:
    fn = await flow.register("bat", batchEvents={"maxSize": 100, "timeout": "60s"})
    blob = "x" * (3 * 1024 * 1024)
    for i in range(4):  # 3 events fit in 10 MiB; the 4th would pass it and opens the next batch
        await flow.send(fn, {"n": i, "blob": blob}, at=T0)
    [run] = await flow.runs(fn)
    assert [e["data"]["n"] for e in json.loads(run["events"])] == [0, 1, 2]
