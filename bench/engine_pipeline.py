"""``python -m bench.engine_pipeline [--runs 1000] [--in-flight 32] [--latency-runs 100] [--no-postgres]
[--processes N]``

The engine on the 8-step pipeline (the same app and steps as ``python -m bench``):

* throughput: ``--runs`` runs with at most ``--in-flight`` runs in flight (a new event is sent as soon as a run
  ends), on SQLite and on PostgreSQL;
* latency at low load: ``--latency-runs`` runs one at a time; per run, event accepted → run completed, read
  from the engine's own ``queued_at``/``ended_at`` (same clock, 1 ms resolution); p50 and p95;
* CPU per step during the throughput run: the engine process, and on PostgreSQL the server processes that
  serve the bench database (``/proc``; other databases on the same server are not counted);
* with ``--processes N``, PostgreSQL throughput again with N engine processes on one database, the events
  sent to them in turn (each process runs the runs it started);
* the ceiling: the same SDK app driven directly over aiohttp with the executor's 9 requests per run and no
  engine or database (``bench.ceiling``).

Prints one table. Engine and app run as separate processes (uvicorn + uvloop + httptools), as in production.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench import ceiling as ceiling_mod
from bench.common import (
    cpu_seconds,
    free_port,
    percentile,
    postgres_available,
    postgres_backend_pids,
    process,
    python_env,
    scratch_postgres,
)
from bench.ours import EngineStack, engine_stack


async def _ended(stack: EngineStack) -> int:
    counts = await stack.counts()
    return sum(counts.get(k, 0) for k in ("COMPLETED", "FAILED", "CANCELLED"))


#: Steps per run of the pipeline (the app is called once more, to finish the run).
STEPS_PER_RUN = 8


@dataclass
class Throughput:
    runs_s: float
    engine_us_per_step: float  # CPU of the engine process
    db_us_per_step: float | None  # CPU of the PostgreSQL server processes serving the bench database


async def _db_cpu(database_url: str) -> dict[int, float]:
    if not database_url.startswith("postgres"):
        return {}
    return {pid: cpu_seconds(pid) for pid in await postgres_backend_pids(database_url)}


@contextlib.contextmanager
def _more_engines(work: Path, database_url: str, count: int) -> Iterator[list[tuple[str, int]]]:
    """``count`` further engine processes on the same database: (URL, pid) of each."""
    with contextlib.ExitStack() as stack:
        found: list[tuple[str, int]] = []
        for n in range(count):
            port = free_port()
            args = ["-m", "bench.engine_server", "--port", str(port), "--db", database_url]
            proc = stack.enter_context(process(args, python_env(), work / f"engine-{n + 2}.log", port))
            found.append((f"http://127.0.0.1:{port}", proc.pid))
        yield found


async def throughput(work: Path, database_url: str, runs: int, in_flight: int, processes: int = 1) -> Throughput:
    """Runs/s with at most ``in_flight`` runs in flight; with ``processes`` > 1 (PostgreSQL) the events are
    sent to the engine processes in turn, so each one starts and runs its share."""
    async with engine_stack(work, database_url) as stack:
        with _more_engines(work, database_url, processes - 1) as more:
            engines = [stack, *(replace(stack, engine_url=url, engine_pid=pid) for url, pid in more)]
            await stack.send(["warm-1", "warm-2"])
            await stack.wait_ended(2)
            base = 2
            sent = 0
            turn = 0
            engine_cpu = sum(cpu_seconds(e.engine_pid) for e in engines)
            db_cpu = await _db_cpu(database_url)
            started = time.perf_counter()
            while True:
                ended = await _ended(stack) - base
                if ended >= runs:
                    break
                room = min(in_flight - (sent - ended), runs - sent)
                if room > 0:
                    await engines[turn % len(engines)].send([f"run-{sent + i}" for i in range(room)])
                    turn += 1
                    sent += room
                else:
                    await asyncio.sleep(0.01)
            elapsed = time.perf_counter() - started
            engine_used = sum(cpu_seconds(e.engine_pid) for e in engines) - engine_cpu
            db_now = await _db_cpu(database_url)
            db_used = sum(cpu - db_cpu.get(pid, 0.0) for pid, cpu in db_now.items()) if db_now else None
            counts = await stack.counts()
            if counts.get("COMPLETED", 0) != runs + base:
                raise RuntimeError(f"not every run completed: {counts}")
            steps = runs * STEPS_PER_RUN
            db_us = None if db_used is None else db_used / steps * 1e6
            return Throughput(runs / elapsed, engine_used / steps * 1e6, db_us)


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


Row = tuple[str, str, str, str, str, str, str]


def _row(name: str, runs_s: float, ceiling: float, lat: list[float] | None, tp: Throughput | None) -> Row:
    p50 = percentile(lat, 50) if lat else None
    p95 = percentile(lat, 95) if lat else None
    engine_us = tp.engine_us_per_step if tp else None
    db_us = tp.db_us_per_step if tp else None
    share = f"{100 * runs_s / ceiling:.0f} %"
    return (name, _fmt(runs_s), share, _fmt(p50), _fmt(p95), _fmt(engine_us), _fmt(db_us))


def _measure(work: Path, name: str, args: argparse.Namespace) -> tuple[Throughput, list[float]]:
    if name == "SQLite":
        rate = asyncio.run(throughput(work / "tp-sqlite", f"sqlite:///{work / 'tp.db'}", args.runs, args.in_flight))
        lat = asyncio.run(latency(work / "lat-sqlite", f"sqlite:///{work / 'lat.db'}", args.latency_runs))
        return rate, lat
    with scratch_postgres("bench_engine_tp") as url:
        rate = asyncio.run(throughput(work / "tp-pg", url, args.runs, args.in_flight))
    with scratch_postgres("bench_engine_lat") as url:
        lat = asyncio.run(latency(work / "lat-pg", url, args.latency_runs))
    return rate, lat


def _measure_processes(work: Path, args: argparse.Namespace) -> Throughput:
    with scratch_postgres("bench_engine_tp2") as url:
        return asyncio.run(throughput(work / "tp-pg-n", url, args.runs, args.in_flight, args.processes))


def main() -> None:
    parser = argparse.ArgumentParser(description="Engine throughput and latency on the 8-step pipeline.")
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--in-flight", type=int, default=32)
    parser.add_argument("--latency-runs", type=int, default=100)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--processes", type=int, default=1, help="also measure PostgreSQL throughput with N engine processes"
    )
    args = parser.parse_args()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="engine-bench-") as tmp:
        work = Path(tmp)
        ceiling: dict[str, Any] = ceiling_mod.ceiling(work / "ceiling", args.runs)
        top = args.runs / ceiling["seconds"]
        rows.append(_row("ceiling (SDK app driven directly, aiohttp)", top, top, None, None))
        stores = ["SQLite"] + (["PostgreSQL"] if not args.no_postgres and postgres_available() else [])
        for name in stores:
            tp, lat = _measure(work, name, args)
            rows.append(_row(f"engine on {name}", tp.runs_s, top, lat, tp))
            if name == "PostgreSQL" and args.processes > 1:
                tp_n = _measure_processes(work, args)
                rows.append(_row(f"engine on PostgreSQL, {args.processes} processes", tp_n.runs_s, top, None, tp_n))
    header = ("variant", "runs/s", "of ceiling", "p50 ms", "p95 ms", "engine CPU µs/step", "db CPU µs/step")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print(
        f"8-step pipeline: {args.runs} runs, {args.in_flight} in flight; latency over {args.latency_runs} runs "
        "one at a time (event accepted -> run completed)"
    )
    for r in [header, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))


if __name__ == "__main__":
    main()
