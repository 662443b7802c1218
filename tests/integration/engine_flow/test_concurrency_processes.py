"""Concurrency across two engine processes sharing PostgreSQL: 200 runs, the limit is never exceeded.

The app counts the requests it is executing at once for the function (every step call holds a slot, the
final call too) and records the highest count; both engines dispatch to it.
"""

from __future__ import annotations

import asyncio
import threading
import time
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
