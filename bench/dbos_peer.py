"""DBOS running the pipeline: an 8-step async workflow, called directly (its fastest mode), 32 in flight.

DBOS keeps global state, so each measurement runs in its own process::

    python -m bench.dbos_peer --db URL --work DIR --runs N [--latency]

prints one JSON line: ``{"seconds": …}`` or, with ``--latency``, the per-run trace measured one run at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import workload
from bench.common import python_env

IN_FLIGHT = 32


def _measure(db_url: str, runs: int, latency: bool) -> dict[str, Any]:
    from dbos import DBOS, DBOSConfig

    config: DBOSConfig = {
        "name": "bench",
        "system_database_url": db_url,
        "log_level": "WARNING",
        "console_log_level": "WARNING",
    }
    DBOS(config=config)

    @DBOS.step()
    async def pipeline_step(index: int, run_id: str, previous: Any) -> Any:
        return await workload.astep(index, run_id, previous)

    @DBOS.workflow()
    async def pipeline(run_id: str) -> Any:
        previous: Any = None
        for index in range(workload.STEPS):
            previous = await pipeline_step(index, run_id, previous)
        return previous

    DBOS.launch()
    try:
        return asyncio.run(_drive(pipeline, runs, latency))
    finally:
        DBOS.destroy()


async def _drive(pipeline: Any, runs: int, latency: bool) -> dict[str, Any]:
    await pipeline("warm")
    if latency:
        starts: dict[str, float] = {}
        for i in range(runs):
            run_id = f"lat-{i}"
            starts[run_id] = time.time()
            await pipeline(run_id)
        return {"starts": starts}
    semaphore = asyncio.Semaphore(IN_FLIGHT)

    async def bounded(i: int) -> None:
        async with semaphore:
            await pipeline(f"run-{i}")

    started = time.perf_counter()
    await asyncio.gather(*(bounded(i) for i in range(runs)))
    return {"seconds": time.perf_counter() - started}


def run_dbos(work: Path, db_url: str, runs: int, *, latency: bool = False) -> dict[str, Any]:
    """Run one measurement in a child process; the app database and outputs live under ``work``."""
    work.mkdir(parents=True, exist_ok=True)
    app_db, out_dir = work / "app.db", work / "outputs"
    workload.prepare(app_db, out_dir)
    env = python_env(
        **{
            workload.ENV_DB: str(app_db),
            workload.ENV_OUT: str(out_dir),
            workload.ENV_TRACE: "1" if latency else "0",
        }
    )
    args = [sys.executable, "-m", "bench.dbos_peer", "--db", db_url, "--runs", str(runs)]
    if latency:
        args.append("--latency")
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=1800, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"DBOS bench failed ({done.returncode}): {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    completed = workload.completed_runs(app_db) - 1
    if completed != runs:
        raise RuntimeError(f"DBOS: the app recorded {completed} completed runs, expected {runs}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--runs", type=int, required=True)
    parser.add_argument("--latency", action="store_true")
    args = parser.parse_args()
    assert os.environ.get(workload.ENV_DB), "run through run_dbos()"
    print(json.dumps(_measure(args.db, args.runs, args.latency)))


if __name__ == "__main__":
    main()
