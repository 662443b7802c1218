"""Each control through a real SDK app, on SQLite and PostgreSQL: what the app sees and what the API shows.

Times here are real but short; the assertions are bounds the engine guarantees (a throttled start is never
early, a skipped run never reaches the app), so they do not depend on machine speed.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import defaultdict
from datetime import timedelta
from typing import Any

import inngest

from integration.engine.harness import EngineClient, engine_and_app

SEEN: dict[str, list[Any]] = defaultdict(list)
_lock = threading.Lock()
GAUGE = {"now": 0, "peak": 0}


def _seen(key: str, value: Any) -> None:
    with _lock:
        SEEN[key].append(value)


def build(client: inngest.Inngest) -> list[inngest.Function[Any]]:
    @client.create_function(
        fn_id="throttled", trigger=inngest.TriggerEvent(event="flow/throttled"),
        throttle=inngest.Throttle(limit=1, period=timedelta(seconds=1), burst=0, key="event.data.userId"),
    )  # fmt: skip
    async def throttled(ctx: inngest.Context) -> None:
        _seen(f"throttled:{ctx.event.data['userId']}", time.time())  # the engine's clock: wall time

    @client.create_function(
        fn_id="skill-like", trigger=inngest.TriggerEvent(event="flow/skill"),
        throttle=inngest.Throttle(limit=10, period=timedelta(minutes=1), key="event.data.userId"),
    )  # fmt: skip
    async def skill_like(ctx: inngest.Context) -> None:
        _seen("skill", ctx.event.data["n"])

    @client.create_function(
        fn_id="rated", trigger=inngest.TriggerEvent(event="flow/rated"),
        rate_limit=inngest.RateLimit(limit=2, period=timedelta(minutes=1)),
    )  # fmt: skip
    async def rated(ctx: inngest.Context) -> None:
        _seen("rated", ctx.event.data["n"])

    @client.create_function(
        fn_id="debounced", trigger=inngest.TriggerEvent(event="flow/debounced"),
        debounce=inngest.Debounce(period=timedelta(seconds=1)),
    )  # fmt: skip
    async def debounced(ctx: inngest.Context) -> None:
        _seen("debounced", ctx.event.data["n"])

    @client.create_function(
        fn_id="batched", trigger=inngest.TriggerEvent(event="flow/batched"),
        batch_events=inngest.Batch(max_size=3, timeout=timedelta(seconds=1)),
    )  # fmt: skip
    async def batched(ctx: inngest.Context) -> None:
        _seen("batched", [e.data["n"] for e in ctx.events])

    @client.create_function(
        fn_id="timed", trigger=inngest.TriggerEvent(event="flow/timed"),
        timeouts=inngest.Timeouts(finish=timedelta(seconds=1)),
    )  # fmt: skip
    async def timed(ctx: inngest.Context) -> None:
        await ctx.step.sleep("nap", timedelta(seconds=30))

    @client.create_function(
        fn_id="once", trigger=inngest.TriggerEvent(event="flow/once"), idempotency="event.data.orderId",
    )  # fmt: skip
    async def once(ctx: inngest.Context) -> None:
        _seen("once", ctx.event.data["orderId"])

    @client.create_function(
        fn_id="sleepy", trigger=inngest.TriggerEvent(event="flow/sleepy"),
        concurrency=[inngest.Concurrency(limit=1)],
    )  # fmt: skip
    async def sleepy(ctx: inngest.Context) -> None:
        n = ctx.event.data["n"]
        await ctx.step.run("a", lambda: _seen("sleepy", f"a{n}"))
        await ctx.step.sleep("nap", timedelta(seconds=3))
        await ctx.step.run("b", lambda: _seen("sleepy", f"b{n}"))

    @client.create_function(
        fn_id="fanout", trigger=inngest.TriggerEvent(event="flow/fanout"),
        concurrency=[inngest.Concurrency(limit=2)],
    )  # fmt: skip
    async def fanout(ctx: inngest.Context) -> None:
        async def work() -> None:
            with _lock:
                GAUGE["now"] += 1
                GAUGE["peak"] = max(GAUGE["peak"], GAUGE["now"])
            await asyncio.sleep(0.3)
            with _lock:
                GAUGE["now"] -= 1

        await ctx.group.parallel(tuple((lambda i=i: ctx.step.run(f"p{i}", work)) for i in range(4)))

    @client.create_function(
        fn_id="child-rl", trigger=inngest.TriggerEvent(event="flow/never"),
        rate_limit=inngest.RateLimit(limit=1, period=timedelta(minutes=1)),
    )  # fmt: skip
    async def child_rl(ctx: inngest.Context) -> str:
        return "child ran"

    @client.create_function(fn_id="invoker", trigger=inngest.TriggerEvent(event="flow/invoker"), retries=0)
    async def invoker(ctx: inngest.Context) -> dict[str, str]:
        first = await ctx.step.invoke("one", function=child_rl)
        try:
            await ctx.step.invoke("two", function=child_rl)
            second = "ran"
        except inngest.StepError as exc:
            second = f"{exc.name}: {exc.message}"
        return {"first": str(first), "second": second}

    return [throttled, skill_like, rated, debounced, batched, timed, once, sleepy, fanout, child_rl, invoker]


def _runs(engine: EngineClient, fn: str, status: str | None = None) -> list[dict[str, Any]]:
    params = {"function_id": f"flow-app-{fn}", "limit": "500", **({"status": status} if status else {})}
    res = engine.http.get("/v1/runs", params=params)
    assert res.status_code == 200, res.text
    return list(res.json()["data"])


def _send_together(engine: EngineClient, name: str, data: list[dict[str, Any]]) -> None:
    """One request: the events are ingested in one transaction, whatever the machine's speed."""
    res = engine.http.post("/e/test-key", json=[{"name": name, "data": d} for d in data])
    assert res.status_code == 200, res.text


def _wait(engine: EngineClient, fn: str, count: int, status: str = "COMPLETED", timeout: float = 30) -> list[Any]:
    deadline = time.monotonic() + timeout
    while True:
        runs = _runs(engine, fn, status)
        if len(runs) >= count:
            return runs
        if time.monotonic() > deadline:
            raise AssertionError(f"{fn}: wanted {count} {status} runs, have {_runs(engine, fn)}")
        time.sleep(0.05)


def test_every_control_through_the_sdk(database_url: str) -> None:
    SEEN.clear()
    with engine_and_app(database_url, "flow-app", build) as (engine, _):
        # Concurrency limits executing steps: a sleeping run holds no slot, so with a limit of 1 both runs
        # take their first step before either wakes up.
        engine.send("flow/sleepy", {"n": 1})
        engine.send("flow/sleepy", {"n": 2})

        # Throttle: one start a second per user, queued (never dropped); another user is not held back.
        sent = time.time()
        for _ in range(3):
            engine.send("flow/throttled", {"userId": "a"})
        engine.send("flow/throttled", {"userId": "b"})
        _wait(engine, "throttled", 4)
        starts = sorted(SEEN["throttled:a"])
        assert len(starts) == 3
        # The k-th start of a key is never earlier than k periods after the first event (ms rounding aside).
        assert all(start >= sent + k * 1.0 - 0.002 for k, start in enumerate(starts))
        assert SEEN["throttled:b"][0] < starts[2]  # b took no slot of a's: it did not wait 2 s

        # skill-execute's throttle (10 a minute per user, the SDK's default burst 1): 11 start at once,
        # the 12th waits for its turn (about 6 s later) and is still queued when the others are done.
        sent_ms = int(time.time() * 1000)
        for n in range(12):
            engine.send("flow/skill", {"userId": "u1", "n": n})
        _wait(engine, "skill-like", 11)
        assert sorted(SEEN["skill"])[:11] == list(range(11))
        twelfth = max(_runs(engine, "skill-like"), key=lambda r: r["started_at"] or float("inf"))
        # Still queued, or (on a very slow machine) started no earlier than one period/limit later.
        assert twelfth["status"] == "QUEUED" or twelfth["started_at"] >= sent_ms + 6000 - 2

        # Rate limit: exactly the excess is skipped, recorded with its reason, never sent to the app.
        for n in range(5):
            engine.send("flow/rated", {"n": n})
        _wait(engine, "rated", 2)
        skipped = _wait(engine, "rated", 3, status="SKIPPED")
        assert len(skipped) == 3
        assert sorted(SEEN["rated"]) == [0, 1]
        assert "rate limit" in engine.run(skipped[0]["id"])["output"]

        # Debounce: one run, with the last event.
        _send_together(engine, "flow/debounced", [{"n": n} for n in range(3)])
        _wait(engine, "debounced", 1)
        assert SEEN["debounced"] == [2]

        # Batching: a full batch at once, the rest when the timeout closes it.
        _send_together(engine, "flow/batched", [{"n": n} for n in range(5)])
        _wait(engine, "batched", 2)
        assert sorted(SEEN["batched"]) == [[0, 1, 2], [3, 4]]

        # Finish timeout: the sleeping run is cancelled, and inngest/function.cancelled is emitted.
        engine.send("flow/timed")
        [cancelled] = _wait(engine, "timed", 1, status="CANCELLED")
        events = engine.http.get("/v1/events", params={"name": "inngest/function.cancelled"}).json()["data"]
        assert [e["payload"]["data"]["run_id"] for e in events] == [cancelled["id"]]

        _wait(engine, "sleepy", 2)
        assert sorted(SEEN["sleepy"][:2]) == ["a1", "a2"]
        assert sorted(SEEN["sleepy"][2:]) == ["b1", "b2"]

        # Each parallel step takes its own slot: 4 parallel steps under a limit of 2 run 2 at a time.
        GAUGE.update(now=0, peak=0)
        engine.send("flow/fanout")
        _wait(engine, "fanout", 1)
        assert 1 <= GAUGE["peak"] <= 2

        # An invoked function's rate limit: the skipped child makes the parent's invoke fail.
        engine.send("flow/invoker")
        [done] = _wait(engine, "invoker", 1)
        output = json.loads(engine.run(done["id"])["output"])
        assert output["first"] == "child ran"
        assert output["second"].startswith("FunctionSkipped: the invoked function was skipped: rate limit")

        # Idempotency: one run per key.
        for order in ("o1", "o1", "o2"):
            engine.send("flow/once", {"orderId": order})
        _wait(engine, "once", 2)
        assert len(_wait(engine, "once", 1, status="SKIPPED")) == 1
        assert sorted(SEEN["once"]) == ["o1", "o2"]
