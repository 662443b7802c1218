"""Our engine running the pipeline: engine and SDK app as two subprocesses, driven over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench import workload
from bench.common import free_port, peak_rss_mib, process, python_env, rss_mib
from bench.inngest_app import EVENT_NAME

EVENT_BATCH = 100
#: Extra uvicorn options for the app (experiments).
APP_EXTRA: list[str] = []


@dataclass
class EngineStack:
    engine_url: str
    app_url: str
    engine_pid: int
    app_pid: int
    app_db: Path
    http: aiohttp.ClientSession

    async def send(self, run_ids: list[str]) -> list[float]:
        """Send one event per run id, in batches; the wall-clock time each batch was accepted."""
        accepted: list[float] = []
        for start in range(0, len(run_ids), EVENT_BATCH):
            chunk = run_ids[start : start + EVENT_BATCH]
            events = [{"name": EVENT_NAME, "data": {"run": run_id}} for run_id in chunk]
            async with self.http.post(f"{self.engine_url}/e/bench", json=events) as reply:
                body = await reply.json()
                if reply.status != 200 or len(body.get("ids", [])) != len(chunk):
                    raise RuntimeError(f"event API answered {reply.status}: {body}")
            accepted.extend([time.time()] * len(chunk))
        return accepted

    async def counts(self) -> dict[str, int]:
        async with self.http.get(f"{self.engine_url}/v1/stats") as reply:
            reply.raise_for_status()
            return dict((await reply.json())["data"]["runs"])

    async def wait_ended(self, total: int, timeout: float = 900.0, poll: float = 0.05) -> dict[str, int]:
        """Wait until ``total`` runs have ended; fail loudly when any failed."""
        deadline = time.monotonic() + timeout
        while True:
            counts = await self.counts()
            ended = counts.get("COMPLETED", 0) + counts.get("FAILED", 0) + counts.get("CANCELLED", 0)
            if ended >= total:
                if counts.get("COMPLETED", 0) < total:
                    raise RuntimeError(f"runs did not all complete: {counts}")
                return counts
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {ended}/{total} runs ended: {counts}")
            await asyncio.sleep(poll)

    def memory(self) -> dict[str, float]:
        return {
            "engine_rss_mib": rss_mib(self.engine_pid),
            "engine_peak_mib": peak_rss_mib(self.engine_pid),
            "app_peak_mib": peak_rss_mib(self.app_pid),
        }


@contextlib.asynccontextmanager
async def engine_stack(
    work: Path,
    database_url: str,
    *,
    concurrency: int = 256,
    trace: bool = False,
    llm_delay: float = 0.0,
    prepare_app_db: bool = True,
) -> AsyncIterator[EngineStack]:
    """Start the engine (on ``database_url``) and the pipeline app, and sync the app."""
    work.mkdir(parents=True, exist_ok=True)
    app_db, out_dir = work / "app.db", work / "outputs"
    if prepare_app_db:
        workload.prepare(app_db, out_dir)
    engine_port, app_port = free_port(), free_port()
    engine_url = f"http://127.0.0.1:{engine_port}"
    app_url = f"http://127.0.0.1:{app_port}/api/inngest"
    env = python_env(
        INNGEST_DEV="1",
        BENCH_ENGINE_URL=engine_url,
        **{
            workload.ENV_DB: str(app_db),
            workload.ENV_OUT: str(out_dir),
            workload.ENV_TRACE: "1" if trace else "0",
            workload.ENV_LLM_DELAY: str(llm_delay),
        },
    )
    engine_args = ["-m", "bench.engine_server", "--port", str(engine_port), "--db", database_url]
    app_args = [
        "-m",
        "uvicorn",
        "--factory",
        "bench.inngest_app:create",
        "--port",
        str(app_port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--log-level",
        "warning",
        "--no-access-log",
        *APP_EXTRA,
    ]
    with (
        process([*engine_args, "--concurrency", str(concurrency)], env, work / "engine.log", engine_port) as engine,
        process(app_args, env, work / "app.log", app_port) as app,
    ):
        timeout = aiohttp.ClientTimeout(total=600)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            async with http.post(f"{engine_url}/v1/apps/sync", json={"url": app_url}) as reply:
                if reply.status != 200:
                    raise RuntimeError(f"sync failed: {reply.status} {await reply.text()}")
            yield EngineStack(engine_url, app_url, engine.pid, app.pid, app_db, http)


async def throughput(work: Path, database_url: str, runs: int) -> dict[str, Any]:
    async with engine_stack(work, database_url) as stack:
        await stack.send(["warm-1", "warm-2"])  # connections, caches and the first-call imports
        await stack.wait_ended(2)
        ids = [f"run-{i}" for i in range(runs)]
        started = time.perf_counter()
        await stack.send(ids)
        await stack.wait_ended(runs + 2, poll=0.02)
        elapsed = time.perf_counter() - started
        done = workload.completed_runs(stack.app_db) - 2
        if done != runs:
            raise RuntimeError(f"the app recorded {done} completed runs, expected {runs}")
        return {"seconds": elapsed, **stack.memory()}


def handoffs(starts: dict[str, float], rows: list[tuple[str, int, float]]) -> dict[str, list[float]]:
    """From submit times and step traces: submit → first step, and each step → the next (seconds)."""
    by_run: dict[str, dict[int, float]] = {}
    for run_id, index, at in rows:
        by_run.setdefault(run_id, {}).setdefault(index, at)  # a retried step keeps its first call
    first: list[float] = []
    between: list[float] = []
    for run_id, submitted in starts.items():
        steps = by_run.get(run_id, {})
        if 0 in steps:
            first.append(steps[0] - submitted)
        between.extend(steps[i + 1] - steps[i] for i in range(workload.STEPS - 1) if i in steps and i + 1 in steps)
    return {"first_step": first, "next_step": between}


async def _wait_trace(app_db: Path, run_id: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = [r for r in workload.trace_rows(app_db) if r[0] == run_id and r[1] == workload.STEPS - 1]
        if rows:
            return
        await asyncio.sleep(0.005)
    raise TimeoutError(f"run {run_id} did not reach its last step")


async def latency(work: Path, database_url: str, runs: int) -> dict[str, Any]:
    """``runs`` runs one at a time (low load): each event sent once the previous run has ended."""
    async with engine_stack(work, database_url, trace=True) as stack:
        await stack.send(["warm"])
        await stack.wait_ended(1)
        starts: dict[str, float] = {}
        for i in range(runs):
            run_id = f"lat-{i}"
            [starts[run_id]] = await stack.send([run_id])
            await _wait_trace(stack.app_db, run_id)
            await stack.wait_ended(i + 2, poll=0.005)
        return {"starts": starts, "rows": workload.trace_rows(stack.app_db)}


async def concurrency(work: Path, database_url: str, runs: int, llm_delay: float, slots: int) -> dict[str, Any]:
    """``runs`` runs at once whose LLM step waits ``llm_delay`` s: wall time to finish all, peak memory."""
    async with engine_stack(work, database_url, llm_delay=llm_delay, concurrency=slots) as stack:
        await stack.send(["warm"])
        await stack.wait_ended(1)
        started = time.perf_counter()
        await stack.send([f"run-{i}" for i in range(runs)])
        await stack.wait_ended(runs + 1, poll=0.02)
        return {"seconds": time.perf_counter() - started, **stack.memory()}
