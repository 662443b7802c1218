"""The protocol's ceiling: the SDK app driven directly over aiohttp, with no engine and no engine store.

Per run this sends exactly the requests an executor sends for an 8-step function (one call per step plus
the final call that returns the output), carrying the memoized step results forward like an engine does.
Whatever engine speaks this protocol, it cannot go faster than this on the same machine.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from bench import workload
from bench.common import free_port, process, python_env
from bench.inngest_app import APP_ID, EVENT_NAME, FUNCTION_ID

IN_FLIGHT = 32
HEADERS = {"content-type": "application/json", "x-inngest-req-version": "2", "x-inngest-server-kind": "dev"}


async def _one_run(http: aiohttp.ClientSession, url: str, run_id: str) -> int:
    event = {
        "name": EVENT_NAME,
        "data": {"run": run_id},
        "id": uuid.uuid4().hex,
        "ts": int(time.time() * 1000),
    }
    steps: dict[str, Any] = {}
    order: list[str] = []
    calls = 0
    while True:
        ctx = {
            "run_id": run_id,
            "attempt": 0,
            "max_attempts": 1,
            "disable_immediate_execution": False,
            "use_api": False,
            "stack": {"stack": order, "current": len(order)},
            "fn_id": f"{APP_ID}-{FUNCTION_ID}",
            "step_id": "step",
        }
        body = {"ctx": ctx, "event": event, "events": [event], "steps": steps, "use_api": False, "version": 2}
        calls += 1
        async with http.post(url, data=json.dumps(body), headers=HEADERS) as reply:
            payload = await reply.read()
            if reply.status == 200:
                return calls
            if reply.status != 206:
                raise RuntimeError(f"app answered {reply.status}: {payload[:300]!r}")
        for op in json.loads(payload):
            steps[op["id"]] = {"data": op.get("data")}
            order.append(op["id"])


async def _drive(url: str, runs: int) -> tuple[float, int]:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as http:
        await _one_run(http, url, "warm")
        semaphore = asyncio.Semaphore(IN_FLIGHT)
        total_calls = 0

        async def bounded(i: int) -> None:
            nonlocal total_calls
            async with semaphore:
                calls = await _one_run(http, url, f"run-{i}")
            total_calls += calls

        started = time.perf_counter()
        await asyncio.gather(*(bounded(i) for i in range(runs)))
        return time.perf_counter() - started, total_calls


def ceiling(work: Path, runs: int) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    app_db, out_dir = work / "app.db", work / "outputs"
    workload.prepare(app_db, out_dir)
    port = free_port()
    env = python_env(INNGEST_DEV="1", **{workload.ENV_DB: str(app_db), workload.ENV_OUT: str(out_dir)})
    args = [
        "-m",
        "uvicorn",
        "--factory",
        "bench.inngest_app:create",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    with process(args, env, work / "app.log", port):
        fn_url = f"http://127.0.0.1:{port}/api/inngest?fnId={APP_ID}-{FUNCTION_ID}&stepId=step"
        seconds, calls = asyncio.run(_drive(fn_url, runs))
    done = workload.completed_runs(app_db) - 1
    if done != runs:
        raise RuntimeError(f"ceiling: the app recorded {done} completed runs, expected {runs}")
    return {"seconds": seconds, "requests_per_run": calls / runs}
