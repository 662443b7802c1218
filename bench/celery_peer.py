"""Celery running the pipeline: a chain of 8 tasks, Redis broker and result backend, prefork worker ×2.

The worker is started by the bench as a subprocess (``celery -A bench.celery_peer worker``) on a queue of
its own, so nothing else using the same Redis can take its tasks. Nothing here is durable beyond Redis.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from celery import Celery, chain

from bench import workload
from bench.common import process, python_env

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
QUEUE = os.environ.get("BENCH_CELERY_QUEUE", "bench")
WORKERS = 2

app = Celery("bench", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue=QUEUE,
    result_expires=600,
    worker_prefetch_multiplier=4,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


@app.task(name="bench.step")
def step_task(previous: Any, index: int, run_id: str) -> Any:
    return workload.step(index, run_id, previous)


def _pipeline(run_id: str) -> Any:
    first = step_task.s(None, 0, run_id)
    return chain(first, *(step_task.s(index, run_id) for index in range(1, workload.STEPS)))


def _wait_for_worker(timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.control.ping(timeout=0.5):
            return
    raise TimeoutError("the Celery worker did not answer a ping")


def run_celery(work: Path, runs: int, *, latency: bool = False) -> dict[str, Any]:
    """Start a worker, submit ``runs`` chains (all at once, or one by one with ``latency``), wait for all."""
    work.mkdir(parents=True, exist_ok=True)
    app_db, out_dir = work / "app.db", work / "outputs"
    workload.prepare(app_db, out_dir)
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    app.conf.task_default_queue = queue
    env = python_env(
        BENCH_CELERY_QUEUE=queue,
        **{
            workload.ENV_DB: str(app_db),
            workload.ENV_OUT: str(out_dir),
            workload.ENV_TRACE: "1" if latency else "0",
        },
    )
    args = [
        "-m",
        "celery",
        "-A",
        "bench.celery_peer",
        "worker",
        "--pool",
        "prefork",
        "--concurrency",
        str(WORKERS),
        "-Q",
        queue,
        "--loglevel",
        "WARNING",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    with process(args, env, work / "celery.log") as worker:
        _wait_for_worker()
        _pipeline("warm").apply_async().get(timeout=60)
        result: dict[str, Any]
        if latency:
            starts: dict[str, float] = {}
            for i in range(runs):
                run_id = f"lat-{i}"
                starts[run_id] = time.time()
                _pipeline(run_id).apply_async().get(timeout=60)
            result = {"starts": starts}
        else:
            started = time.perf_counter()
            pending = [_pipeline(f"run-{i}").apply_async() for i in range(runs)]
            for item in pending:
                item.get(timeout=600)
            result = {"seconds": time.perf_counter() - started}
        result["worker_pid"] = worker.pid
    completed = workload.completed_runs(app_db) - 1
    if completed != runs:
        raise RuntimeError(f"Celery: the app recorded {completed} completed runs, expected {runs}")
    return result


if __name__ == "__main__":  # pragma: no cover - the worker imports this module; nothing to run directly
    sys.exit("start a worker with: celery -A bench.celery_peer worker")
