"""Crash safety: SIGKILL the engine process mid-run — during a step call, while runs sleep, between steps —
restart it, and every run completes; no step is executed again after its result was stored.

The SDK app runs in this test process, so every execution of every step is recorded with its start time and
compared with the time the engine stored that step's result.
"""

from __future__ import annotations

import datetime
import os
import threading
import time
import warnings
from collections import defaultdict
from typing import Any

import pytest

os.environ.setdefault("INNGEST_DEV", "1")
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import inngest
    import inngest.fast_api

from integration.engine.harness import EngineClient, EngineProcess, make_client, sdk_app

pytestmark = pytest.mark.slow

RUNS = 6
executions: dict[tuple[str, str], list[int]] = defaultdict(list)
in_slow_step = threading.Event()
lock = threading.Lock()


def _record(run_id: str, step: str) -> None:
    with lock:
        executions[(run_id, step)].append(int(time.time() * 1000))


def build(client: inngest.Inngest) -> list[inngest.Function[Any]]:
    @client.create_function(fn_id="crashy", retries=10, trigger=inngest.TriggerEvent(event="t/crash"))
    def crashy(ctx: inngest.ContextSync) -> str:
        for i in range(3):

            def quick(i: int = i) -> int:
                _record(ctx.run_id, f"q{i}")
                return i

            ctx.step.run(f"q{i}", quick)

        def slow() -> str:
            _record(ctx.run_id, "slow")
            in_slow_step.set()
            time.sleep(0.8)
            return "slow done"

        ctx.step.run("slow", slow)
        ctx.step.sleep("nap", datetime.timedelta(seconds=2))
        for i in range(3):

            def after(i: int = i) -> int:
                _record(ctx.run_id, f"a{i}")
                return i

            ctx.step.run(f"a{i}", after)
        return "done"

    return [crashy]


def _wait_all(engine: EngineClient, run_ids: list[str], timeout: float = 90) -> list[dict[str, Any]]:
    return [engine.wait_run(r, timeout=timeout) for r in run_ids]


def test_sigkill_and_restart(database_url: str) -> None:
    executions.clear()
    in_slow_step.clear()
    proc = EngineProcess(database_url, lease_seconds=2.0)
    proc.start()
    engine = EngineClient(proc.url)
    client = make_client(proc.url, "crash-app")
    try:
        with sdk_app(client, build(client)) as app_url:
            engine.sync(app_url)
            event_ids = [engine.send("t/crash", {"n": n}) for n in range(RUNS)]
            run_ids = [engine.runs_of_event(e)[0]["id"] for e in event_ids]

            # 1. during a step call
            assert in_slow_step.wait(30)
            proc.kill()
            proc.start()

            # 2. while runs sleep
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                statuses = [s["status"] for r in run_ids for s in engine.run(r)["steps"]]
                if "sleeping" in statuses:
                    break
                time.sleep(0.05)
            proc.kill()
            time.sleep(0.5)
            proc.start()

            # 3. between steps (at arbitrary points of the remaining work), twice
            for delay in (0.3, 0.7):
                time.sleep(delay)
                proc.kill()
                proc.start()

            runs = _wait_all(engine, run_ids)
    finally:
        engine.close()
        proc.stop()

    # The first kill hit a step call in flight: its result was lost, so that step ran again (allowed).
    assert any(len(v) > 1 for (_run, step), v in executions.items() if step == "slow")
    for run in runs:
        assert run["status"] == "COMPLETED", run
        assert run["output"] == '"done"'
        names = [s["name"] for s in run["steps"]]
        assert names == ["q0", "q1", "q2", "slow", "nap", "a0", "a1", "a2"]
        for step in run["steps"]:
            if step["op"] != "StepRun":
                continue
            starts = executions[(run["id"], step["name"])]
            assert starts, f"{step['name']} never executed"
            stored_at = int(step["ended_at"])
            late = [t for t in starts if t > stored_at]
            assert not late, f"run {run['id']} step {step['name']} re-executed after its result was stored"
