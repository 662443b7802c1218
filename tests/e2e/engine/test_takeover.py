"""Several engine processes on one PostgreSQL database: when one dies (SIGKILL) with step calls in flight,
another takes its leased work over once the leases expire, and every run completes; steps whose results were
stored never run again."""

from __future__ import annotations

import datetime
import threading
import time
from collections import Counter
from typing import Any

import inngest
import pytest

from integration.engine.harness import EngineClient, EngineProcess, make_client, sdk_app

pytestmark = pytest.mark.slow

RUNS = 8
executions: Counter[tuple[str, str]] = Counter()
lock = threading.Lock()


def build(client: inngest.Inngest) -> list[inngest.Function[Any]]:
    @client.create_function(fn_id="shared", retries=5, trigger=inngest.TriggerEvent(event="t/shared"))
    def shared(ctx: inngest.ContextSync) -> str:
        for name in ("one", "two"):

            def step(name: str = name) -> str:
                with lock:
                    executions[(ctx.run_id, name)] += 1
                if name == "two":
                    time.sleep(1.0)  # process A is killed while these calls are in flight
                return name

            ctx.step.run(name, step)
        ctx.step.sleep("pause", datetime.timedelta(seconds=2))
        ctx.step.run("three", lambda: "three")
        return "done"

    return [shared]


def test_other_process_takes_over(postgres_url: str) -> None:
    executions.clear()
    first = EngineProcess(postgres_url, lease_seconds=2.0)
    second = EngineProcess(postgres_url, lease_seconds=2.0)
    first.start()
    second.start()
    a, b = EngineClient(first.url), EngineClient(second.url)
    client = make_client(first.url, "shared-app")
    try:
        with sdk_app(client, build(client)) as app_url:
            a.sync(app_url)
            run_ids = [a.runs_of_event(a.send("t/shared", {"n": n}))[0]["id"] for n in range(RUNS)]
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:  # every run is inside step "two", called by process A
                with lock:
                    if all(executions[(r, "two")] for r in run_ids):
                        break
                time.sleep(0.02)
            first.kill()  # A's leased calls are B's to take once their leases expire
            runs = [b.wait_run(r, timeout=60) for r in run_ids]
    finally:
        a.close()
        b.close()
        first.stop()
        second.stop()
    # Some calls were in flight when A died: B ran them again once A's leases expired.
    assert any(executions[(r["id"], "two")] == 2 for r in runs)
    for run in runs:
        assert run["status"] == "COMPLETED", run
        assert [s["name"] for s in run["steps"]] == ["one", "two", "pause", "three"]
        assert executions[(run["id"], "one")] == 1
        assert executions[(run["id"], "two")] in (1, 2)  # 2 when it was in flight as A died
