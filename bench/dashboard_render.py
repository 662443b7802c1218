"""Dashboard render times with 100,000 runs in the engine store, on SQLite and PostgreSQL.

    uv run python -m bench.dashboard_render [--runs 100000] [--repeat 30] [--postgres URL | --no-postgres]

The engine app runs in-process (workers and cron off) and pages are requested through httpx's ASGI
transport, so the times are server time: routing, queries and template rendering, no network. The runs
are bulk-inserted through ``store_inspect.bulk_insert_runs``, spread over the last 7 days; one extra run
has 10 steps, 20 attempts and 60 log lines for the run page. Goal: runs list and run page < 150 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from marketing_agent.engine import EngineConfig, create_engine_app
from marketing_agent.engine._ids import new_ulid, now_ms
from marketing_agent.engine.store import Store
from marketing_agent.engine.store import inspect as si

GOAL_MS = 150.0
DAY_MS = 86_400_000
CHUNK = 5000
FUNCTIONS = [f"bench-app-fn-{i}" for i in range(8)]
STATUSES = ["COMPLETED"] * 17 + ["FAILED", "CANCELLED", "COMPLETED"]


async def fill(store: Store, runs: int) -> None:
    now = now_ms()
    step = 7 * DAY_MS // runs
    for start in range(0, runs, CHUNK):
        rows = []
        for i in range(start, min(runs, start + CHUNK)):
            at = now - 7 * DAY_MS + i * step
            event = {"name": f"bench/event.{i % 5}", "data": {"customer": f"c-{i}", "plan": "pro"}}
            rows.append({
                "id": new_ulid(at), "function_id": FUNCTIONS[i % len(FUNCTIONS)], "app_id": "bench-app",
                "event_id": new_ulid(at), "events": [event], "status": STATUSES[i % len(STATUSES)],
                "queued_at": at, "output": {"ok": True},
            })  # fmt: skip
        await si.bulk_insert_runs(store, rows)


async def detailed_run(store: Store) -> str:
    """One run with 10 steps (one retried twice), 20 attempts and 60 log lines."""
    now = now_ms() - 60_000
    run_id = new_ulid(now)
    async with store.transaction() as tx:
        await store.create_run(tx, run_id=run_id, function_id=FUNCTIONS[0], app_id="bench-app", event_id=None,
                               events=[{"name": "bench/detail", "data": {"n": 1}}], now=now)  # fmt: skip
        t = now
        for s in range(10):
            sid = f"step-{s:02d}"
            tries = 3 if s == 4 else 2 if s % 3 == 0 else 1
            for a in range(tries):
                ok = a == tries - 1
                error = None if ok else {"name": "Error", "message": "transient", "stack": "Traceback…\n" * 5}
                await store.record_attempt(tx, run_id, sid, f"step {s}", a, t + 2, t + 40, 206,
                                           "step_completed" if ok else "error", error)  # fmt: skip
                t += 50
            memo = {"data": {"rows": list(range(50))}}
            await store.upsert_step(tx, run_id, sid, name=f"step {s}", op="StepRun", status="completed", now=t,
                                    memo=memo, attempts=tries, started_at=t - 50)  # fmt: skip
        await store.finish_run(tx, run_id, "COMPLETED", json.dumps({"done": True}), t + 10)
    lines = [{"step": f"step {i % 10}", "attempt": 0, "ts": now + i, "level": "INFO", "logger": "bench",
              "message": f"line {i}"} for i in range(60)]  # fmt: skip
    await si.insert_logs(store, run_id, lines)
    return run_id


async def measure(client: httpx.AsyncClient, path: str, repeat: int) -> tuple[float, float]:
    await client.get(path)  # warm caches and templates
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        reply = await client.get(path)
        times.append((time.perf_counter() - t0) * 1000)
        if reply.status_code != 200:
            raise RuntimeError(f"{path} answered {reply.status_code}")
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


@asynccontextmanager
async def postgres_database(admin_url: str) -> AsyncIterator[str]:
    import asyncpg

    name = f"bench_dash_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


async def bench_store(label: str, url: str, runs: int, repeat: int) -> list[dict[str, Any]]:
    app = create_engine_app(EngineConfig(database_url=url, workers=False, cron=False, retention_days=0))
    results = []
    async with app.router.lifespan_context(app):
        store: Store = app.state.engine.store
        t0 = time.perf_counter()
        await fill(store, runs)
        detail = await detailed_run(store)
        print(f"{label}: inserted {runs:,} runs in {time.perf_counter() - t0:.1f} s", flush=True)
        if store.is_postgres:
            async with store._read() as c:
                await c.execute("ANALYZE")
        middle = (await si.list_runs(store, cursor=None, limit=1))[0]["id"]
        deep = (await si.list_runs(store, since=now_ms() - 4 * DAY_MS, limit=1))[0]["id"]
        pages = [
            ("runs list", "/runs", True),
            ("runs list, status=failed", "/runs?status=failed", True),
            ("runs list, function + 24h", f"/runs?function={FUNCTIONS[3]}&range=24h", True),
            ("runs list, page 3 days back", f"/runs?cursor={deep}", True),
            ("runs auto-refresh fragment", "/runs?fragment=rows", True),
            ("run detail (10 steps, 20 attempts)", f"/runs/{detail}", True),
            ("run detail (1 step)", f"/runs/{middle}", True),
            ("runs JSON", "/v1/runs?limit=50", False),
            ("overview (24 h chart)", "/", False),
            ("runs list, payload search", "/runs?q=c-99999", False),
            ("/metrics", "/metrics", False),
        ]
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for name, path, goal in pages:
                median, p95 = await measure(client, path, repeat)
                results.append({"store": label, "page": name, "median_ms": median, "p95_ms": p95, "goal": goal})
    return results


def table(results: list[dict[str, Any]]) -> str:
    lines = [f"{'store':<10} {'page':<38} {'median ms':>10} {'p95 ms':>8}  goal < {GOAL_MS:.0f} ms",
             "-" * 84]  # fmt: skip
    for r in results:
        verdict = ("ok" if r["p95_ms"] < GOAL_MS else "SLOW") if r["goal"] else "(info)"
        lines.append(f"{r['store']:<10} {r['page']:<38} {r['median_ms']:>10.1f} {r['p95_ms']:>8.1f}  {verdict}")
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="admin URL; a scratch database is created and dropped")  # fmt: skip
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        results += await bench_store("sqlite", f"sqlite:///{Path(tmp) / 'engine.db'}", args.runs, args.repeat)
    if not args.no_postgres:
        try:
            async with postgres_database(args.postgres) as url:
                results += await bench_store("postgres", url, args.runs, args.repeat)
        except OSError as exc:
            print(f"postgres skipped: {exc}")
    print()
    print(table(results))


if __name__ == "__main__":
    asyncio.run(main())
