"""Two engine processes sharing PostgreSQL: concurrency (200 runs, the limit is never exceeded), and one
debounce, one batch and one throttle across both processes.

The app counts the requests it is executing at once for the function (every step call holds a slot, the
final call too) and records the highest count; both engines dispatch to it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta
from typing import Any

import httpx
import inngest
import pytest

from integration.engine.harness import EngineClient, EngineProcess, make_client, sdk_app

LIMIT = 5
RUNS = 200


class Gauge:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0
        self.done = 0

    def enter(self) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def leave(self) -> None:
        with self.lock:
            self.now -= 1


def build(client: inngest.Inngest, gauge: Gauge) -> list[inngest.Function[Any]]:
    @client.create_function(
        fn_id="limited", trigger=inngest.TriggerEvent(event="flow/limited"), retries=0,
        concurrency=[inngest.Concurrency(limit=LIMIT, key="event.data.tenant")],
    )  # fmt: skip
    async def limited(ctx: inngest.Context) -> int:
        gauge.enter()
        try:
            await asyncio.sleep(0.01)  # widen the window in which two calls could overlap
            return await ctx.step.run("work", lambda: 1)
        finally:
            gauge.leave()

    return [limited]


@pytest.mark.postgres
def test_limit_holds_across_two_engine_processes(postgres_url: str) -> None:
    gauge = Gauge()
    first, second = EngineProcess(postgres_url), EngineProcess(postgres_url)
    first.start()
    second.start()
    try:
        client = make_client(first.url, "conc-app")
        with sdk_app(client, build(client, gauge)) as url:
            engine_a, engine_b = EngineClient(first.url), EngineClient(second.url)
            engine_a.sync(url)
            time.sleep(1.5)  # the second process reloads the registry from the shared store
            events = [{"name": "flow/limited", "data": {"tenant": "t1"}} for _ in range(RUNS)]
            for i in range(0, RUNS, 20):  # half the events enter through each process
                target = engine_a if (i // 20) % 2 == 0 else engine_b
                res = target.http.post("/e/test-key", json=events[i : i + 20])
                assert res.status_code == 200, res.text
            deadline = time.monotonic() + 90
            while True:
                res = httpx.get(f"{first.url}/v1/runs", params={"status": "COMPLETED", "limit": "500"}, timeout=10)
                completed = len(res.json()["data"])
                if completed == RUNS or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert completed == RUNS
            assert 2 <= gauge.peak <= LIMIT  # steps ran in parallel, never more than the limit
            engine_a.close()
            engine_b.close()
    finally:
        first.stop()
        second.stop()


SEEN: dict[str, list[Any]] = {"debounced": [], "batched": [], "paced": []}


def build_shared(client: inngest.Inngest) -> list[inngest.Function[Any]]:
    @client.create_function(
        fn_id="debounced", trigger=inngest.TriggerEvent(event="multi/debounced"),
        debounce=inngest.Debounce(period=timedelta(seconds=3)),  # longer than sending the events takes
    )  # fmt: skip
    async def debounced(ctx: inngest.Context) -> None:
        SEEN["debounced"].append(ctx.event.data["n"])

    @client.create_function(
        fn_id="batched", trigger=inngest.TriggerEvent(event="multi/batched"),
        batch_events=inngest.Batch(max_size=4, timeout=timedelta(seconds=30)),
    )  # fmt: skip
    async def batched(ctx: inngest.Context) -> None:
        SEEN["batched"].append(sorted(e.data["n"] for e in ctx.events))

    @client.create_function(
        fn_id="paced", trigger=inngest.TriggerEvent(event="multi/paced"),
        throttle=inngest.Throttle(limit=1, period=timedelta(seconds=1), burst=0),
    )  # fmt: skip
    async def paced(ctx: inngest.Context) -> None:
        SEEN["paced"].append(time.time())

    return [debounced, batched, paced]


@pytest.mark.postgres
def test_debounce_batch_and_throttle_are_shared_by_two_processes(postgres_url: str) -> None:
    for seen in SEEN.values():
        seen.clear()
    first, second = EngineProcess(postgres_url), EngineProcess(postgres_url)
    first.start()
    second.start()
    try:
        client = make_client(first.url, "multi-app")
        with sdk_app(client, build_shared(client)) as url:
            engines = [EngineClient(first.url), EngineClient(second.url)]
            engines[0].sync(url)
            time.sleep(1.5)  # the second process reloads the registry from the shared store
            sent = time.time()
            for n in range(4):  # alternate processes: one debounce, one batch, one throttle across both
                engines[n % 2].send("multi/debounced", {"n": n})
                engines[n % 2].send("multi/batched", {"n": n})
                engines[n % 2].send("multi/paced", {"n": n})
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and (len(SEEN["paced"]) < 4 or not SEEN["debounced"]):
                time.sleep(0.05)
            time.sleep(1.5)  # a second debounce run or a second batch would show up by now
            for engine in engines:
                engine.close()
    finally:
        first.stop()
        second.stop()
    assert SEEN["debounced"] == [3]
    assert SEEN["batched"] == [[0, 1, 2, 3]]
    assert all(start >= sent + k * 1.0 - 0.002 for k, start in enumerate(sorted(SEEN["paced"])))
