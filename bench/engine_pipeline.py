"""``python -m bench.engine_pipeline [--runs 1000] [--in-flight 32] [--latency-runs 100] [--no-postgres]``

The engine on the 8-step pipeline (the same app and steps as ``python -m bench``):

* throughput: ``--runs`` runs with at most ``--in-flight`` runs in flight (a new event is sent as soon as a run
  ends), on SQLite and on PostgreSQL;
* latency at low load: ``--latency-runs`` runs one at a time; per run, event accepted → run completed, read
  from the engine's own ``queued_at``/``ended_at`` (same clock, 1 ms resolution); p50 and p95;
* the ceiling: the same SDK app driven directly over aiohttp with the executor's 9 requests per run and no
  engine or database (``bench.ceiling``).

Prints one table. Engine and app run as separate processes (uvicorn + uvloop + httptools), as in production.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import ceiling as ceiling_mod
from bench.common import percentile, postgres_available, scratch_postgres
from bench.ours import EngineStack, engine_stack


async def _ended(stack: EngineStack) -> int:
    counts = await stack.counts()
    return sum(counts.get(k, 0) for k in ("COMPLETED", "FAILED", "CANCELLED"))


async def throughput(work: Path, database_url: str, runs: int, in_flight: int) -> float:
    async with engine_stack(work, database_url) as stack:
        await stack.send(["warm-1", "warm-2"])
        await stack.wait_ended(2)
        base = 2
        sent = 0
        started = time.perf_counter()
        while True:
            ended = await _ended(stack) - base
            if ended >= runs:
                break
            room = min(in_flight - (sent - ended), runs - sent)
            if room > 0:
                await stack.send([f"run-{sent + i}" for i in range(room)])
                sent += room
            else:
                await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - started
        counts = await stack.counts()
        if counts.get("COMPLETED", 0) != runs + base:
            raise RuntimeError(f"not every run completed: {counts}")
        return runs / elapsed


async def latency(work: Path, database_url: str, runs: int) -> list[float]:
    async with engine_stack(work, database_url) as stack:
        await stack.send(["warm"])
        await stack.wait_ended(1)
        for i in range(runs):
            await stack.send([f"lat-{i}"])
            while await _ended(stack) < i + 2:
                await asyncio.sleep(0.01)
        async with stack.http.get(f"{stack.engine_url}/v1/runs", params={"limit": str(runs)}) as reply:
            rows = (await reply.json())["data"]
        return [float(r["ended_at"] - r["queued_at"]) for r in rows if r["status"] == "COMPLETED"][:runs]


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _row(name: str, runs_s: float | None, lat: list[float] | None) -> tuple[str, str, str, str]:
    p50 = percentile(lat, 50) if lat else None
    p95 = percentile(lat, 95) if lat else None
    return (name, _fmt(runs_s), _fmt(p50), _fmt(p95))


def _measure(work: Path, name: str, args: argparse.Namespace) -> tuple[float, list[float]]:
    if name == "SQLite":
        rate = asyncio.run(throughput(work / "tp-sqlite", f"sqlite:///{work / 'tp.db'}", args.runs, args.in_flight))
        lat = asyncio.run(latency(work / "lat-sqlite", f"sqlite:///{work / 'lat.db'}", args.latency_runs))
        return rate, lat
    with scratch_postgres("bench_engine_tp") as url:
        rate = asyncio.run(throughput(work / "tp-pg", url, args.runs, args.in_flight))
    with scratch_postgres("bench_engine_lat") as url:
        lat = asyncio.run(latency(work / "lat-pg", url, args.latency_runs))
    return rate, lat


def main() -> None:
    parser = argparse.ArgumentParser(description="Engine throughput and latency on the 8-step pipeline.")
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--in-flight", type=int, default=32)
    parser.add_argument("--latency-runs", type=int, default=100)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    rows: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="engine-bench-") as tmp:
        work = Path(tmp)
        ceiling: dict[str, Any] = ceiling_mod.ceiling(work / "ceiling", args.runs)
        rows.append(_row("ceiling (SDK app driven directly, aiohttp)", args.runs / ceiling["seconds"], None))
        stores = ["SQLite"] + (["PostgreSQL"] if not args.no_postgres and postgres_available() else [])
        for name in stores:
            rate, lat = _measure(work, name, args)
            rows.append(_row(f"engine on {name}", rate, lat))
    header = ("variant", "runs/s", "p50 ms", "p95 ms")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    print(
        f"8-step pipeline: {args.runs} runs, {args.in_flight} in flight; latency over {args.latency_runs} runs "
        "one at a time (event accepted -> run completed)"
    )
    for r in [header, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))


if __name__ == "__main__":
    main()
