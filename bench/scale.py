"""B4: the engine with a big store — N finished runs (8 steps and 9 attempts each) and N events.

The history is bulk-inserted straight into the engine's tables (what N real runs would leave behind, minus
the hours), then the engine is started on that store and measured: resident memory, the runs list and a
run's detail over the JSON API, and how long a new run waits for its first step.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from ulid import ULID

from bench import workload
from bench.inngest_app import APP_ID, EVENT_NAME, FUNCTION_ID
from bench.ours import _wait_trace, engine_stack

CHUNK = 5_000
SAMPLES = 20


def _ulid(ms: int) -> str:
    return str(ULID.from_timestamp(ms / 1000))


def _history(count: int) -> Iterator[tuple[list[tuple[Any, ...]], ...]]:
    """Chunks of (events, runs, steps, attempts) rows, oldest first, a second apart, ending an hour ago."""
    function_id = f"{APP_ID}-{FUNCTION_ID}"
    base = int(time.time() * 1000) - 3_600_000 - count * 1000
    for start in range(0, count, CHUNK):
        events: list[tuple[Any, ...]] = []
        runs: list[tuple[Any, ...]] = []
        steps: list[tuple[Any, ...]] = []
        attempts: list[tuple[Any, ...]] = []
        for i in range(start, min(count, start + CHUNK)):
            at = base + i * 1000
            event_id, run_id = _ulid(at), _ulid(at + 1)
            event = {"name": EVENT_NAME, "data": {"run": f"old-{i}"}, "id": event_id, "ts": at}
            payload = json.dumps(event)
            events.append((event_id, EVENT_NAME, payload, None, at, at, 0))
            runs.append(
                (
                    run_id,
                    function_id,
                    APP_ID,
                    event_id,
                    f"[{payload}]",
                    "COMPLETED",
                    json.dumps({"success": True}),
                    at,
                    at + 2,
                    at + 30,
                    8,
                )
            )
            for seq, name in enumerate(workload.STEP_NAMES):
                step_id = f"{name}-{i}"
                steps.append(
                    (
                        run_id,
                        step_id,
                        seq,
                        name,
                        "StepRun",
                        "completed",
                        '{"data":true}',
                        1,
                        None,
                        1,
                        at + 2 + seq * 3,
                        at + 4 + seq * 3,
                    )
                )
                attempts.append(
                    (
                        _ulid(at + 2 + seq * 3),
                        run_id,
                        step_id,
                        name,
                        0,
                        at + 2 + seq * 3,
                        at + 4 + seq * 3,
                        206,
                        "step",
                        None,
                    )
                )
            attempts.append((_ulid(at + 29), run_id, "step", None, 0, at + 28, at + 30, 200, "completed", None))
        yield events, runs, steps, attempts


_COLUMNS = {
    "events": "id, name, payload, user_id, ts, received_at, duplicate",
    "runs": "id, function_id, app_id, event_id, events, status, output, queued_at, started_at, ended_at, step_count",
    "steps": "run_id, step_id, seq, name, op, status, memo, has_memo, opts, attempts, started_at, ended_at",
    "attempts": "id, run_id, target, step_name, attempt, started_at, ended_at, status_code, outcome, error",
}


def _insert_sqlite(path: Path, count: int) -> None:
    with sqlite3.connect(path, timeout=60) as conn:
        for chunk in _history(count):
            for table, rows in zip(_COLUMNS, chunk, strict=True):
                marks = ", ".join("?" * len(_COLUMNS[table].split(",")))
                conn.executemany(f"INSERT INTO {table} ({_COLUMNS[table]}) VALUES ({marks})", rows)
        conn.commit()


async def _insert_postgres(url: str, count: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        for chunk in _history(count):
            for table, rows in zip(_COLUMNS, chunk, strict=True):
                columns = [c.strip() for c in _COLUMNS[table].split(",")]
                await conn.copy_records_to_table(table, records=rows, columns=columns)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def _timed_get(http: aiohttp.ClientSession, url: str) -> float:
    started = time.perf_counter()
    async with http.get(url) as reply:
        await reply.read()
        if reply.status != 200:
            raise RuntimeError(f"GET {url} answered {reply.status}")
    return time.perf_counter() - started


async def scale(work: Path, database_url: str, count: int) -> dict[str, Any]:
    # 1. an engine creates the schema and registers the app, then stops
    async with engine_stack(work / "first", database_url) as stack:
        await stack.send(["warm"])
        await stack.wait_ended(1)
    # 2. the history goes in
    started = time.perf_counter()
    if database_url.startswith("sqlite"):
        _insert_sqlite(Path(database_url.removeprefix("sqlite:///")), count)
    else:
        await _insert_postgres(database_url, count)
    insert_seconds = time.perf_counter() - started
    # 3. a fresh engine on the big store
    async with engine_stack(work / "second", database_url, trace=True) as stack:
        await stack.send(["warm-2"])
        await stack.wait_ended(2, timeout=120)
        rss_idle = stack.memory()["engine_rss_mib"]
        async with stack.http.get(f"{stack.engine_url}/v1/runs?limit=50&cursor=") as reply:
            listed = (await reply.json())["data"]
        run_ids = [r["id"] for r in listed]
        list_times = [await _timed_get(stack.http, f"{stack.engine_url}/v1/runs?limit=50") for _ in range(SAMPLES)]
        filtered = [
            await _timed_get(
                stack.http,
                f"{stack.engine_url}/v1/runs?limit=50&status=COMPLETED&function_id={APP_ID}-{FUNCTION_ID}",
            )
            for _ in range(SAMPLES)
        ]
        detail_times = [
            await _timed_get(stack.http, f"{stack.engine_url}/v1/runs/{run_ids[i % len(run_ids)]}")
            for i in range(SAMPLES)
        ]
        event_times = [await _timed_get(stack.http, f"{stack.engine_url}/v1/events?limit=50") for _ in range(SAMPLES)]
        first_step: list[float] = []
        for i in range(SAMPLES):
            run_id = f"new-{i}"
            [sent] = await stack.send([run_id])
            await _wait_trace(stack.app_db, run_id)
            first = min(t for r, s, t in workload.trace_rows(stack.app_db) if r == run_id and s == 0)
            first_step.append(first - sent)
            await stack.wait_ended(3 + i + count, timeout=60)
        memory = stack.memory()
    return {
        "insert_seconds": insert_seconds,
        "engine_rss_idle_mib": rss_idle,
        "engine_rss_mib": memory["engine_rss_mib"],
        "runs_list_ms": statistics.median(list_times) * 1000,
        "runs_list_filtered_ms": statistics.median(filtered) * 1000,
        "run_detail_ms": statistics.median(detail_times) * 1000,
        "events_list_ms": statistics.median(event_times) * 1000,
        "new_run_first_step_ms": statistics.median(first_step) * 1000,
    }


if __name__ == "__main__":  # pragma: no cover - python -m bench.scale: a quick look with a small store
    folder = Path("bench-scale-work")
    print(asyncio.run(scale(folder, f"sqlite:///{folder.resolve()}/engine.db", 10_000)))
