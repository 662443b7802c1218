"""``python -m bench [--quick] [--only B1,B2] [--runs N]``: the benches, one table, JSON and a chart.

B1 pipeline throughput (ours on SQLite and PostgreSQL, DBOS on both, Celery, the protocol ceiling),
B2 latency at low load, B3 1,000 runs waiting on a 1 s LLM call at once, B4 a store with 100,000 runs.
Everything is measured in this one run, so the ratios hold even on a noisy machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import platform
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench import ours, report, workload
from bench.common import (
    Measurement,
    as_jsonable,
    postgres_available,
    rate,
    redis_available,
    scratch_postgres,
    summary_ms,
)

RESULTS = Path(__file__).resolve().parent / "results"
log = logging.getLogger("bench")


def _b1(work: Path, runs: int, rows: list[Measurement]) -> None:
    from bench.ceiling import ceiling
    from bench.celery_peer import run_celery
    from bench.dbos_peer import run_dbos

    def add(system: str, variant: str, seconds: float, note: str = "") -> None:
        rows.append(
            Measurement(
                "B1",
                system,
                variant,
                {
                    "runs_per_s": rate(runs, seconds),
                    "steps_per_s": rate(runs * workload.STEPS, seconds),
                    "seconds": seconds,
                },
                note,
            )
        )

    pg = postgres_available()
    add("ceiling", "SDK app driven by aiohttp, no engine/store", ceiling(work / "ceiling", runs)["seconds"])
    add(
        "ours",
        "SQLite",
        asyncio.run(ours.throughput(work / "ours-sqlite", f"sqlite:///{work}/ours.db", runs))["seconds"],
    )
    if pg:
        with scratch_postgres("ours") as url:
            add("ours", "PostgreSQL", asyncio.run(ours.throughput(work / "ours-pg", url, runs))["seconds"])
    add(
        "DBOS",
        "SQLite",
        run_dbos(work / "dbos-sqlite", f"sqlite:///{work}/dbos.db", runs)["seconds"],
        "workflow called directly, 32 in flight",
    )
    if pg:
        with scratch_postgres("dbos") as url:
            add(
                "DBOS",
                "PostgreSQL",
                run_dbos(work / "dbos-pg", url, runs)["seconds"],
                "workflow called directly, 32 in flight",
            )
    if redis_available():
        add(
            "Celery",
            "Redis, chain of 8, prefork x2",
            run_celery(work / "celery", runs)["seconds"],
            "not durable beyond Redis",
        )
    else:
        log.warning("B1: Redis is not answering on 127.0.0.1:6379; Celery skipped")


def _b2(work: Path, runs: int, rows: list[Measurement]) -> None:
    from bench.celery_peer import run_celery
    from bench.dbos_peer import run_dbos

    def add(system: str, variant: str, starts: dict[str, float], trace: list[tuple[str, int, float]]) -> None:
        found = ours.handoffs(starts, trace)
        for kind, values in found.items():
            label = "submit -> first step" if kind == "first_step" else "step -> next step"
            rows.append(Measurement("B2", system, f"{variant}: {label}", summary_ms(values)))

    result = asyncio.run(ours.latency(work / "lat-ours", f"sqlite:///{work}/lat-ours.db", runs))
    add("ours", "SQLite", result["starts"], result["rows"])
    if postgres_available():
        with scratch_postgres("lat") as url:
            result = asyncio.run(ours.latency(work / "lat-ours-pg", url, runs))
        add("ours", "PostgreSQL", result["starts"], result["rows"])
    dbos = run_dbos(work / "lat-dbos", f"sqlite:///{work}/lat-dbos.db", runs, latency=True)
    add("DBOS", "SQLite", dbos["starts"], workload.trace_rows(work / "lat-dbos" / "app.db"))
    if redis_available():
        celery = run_celery(work / "lat-celery", runs, latency=True)
        add("Celery", "Redis", celery["starts"], workload.trace_rows(work / "lat-celery" / "app.db"))


def _b3(work: Path, runs: int, rows: list[Measurement]) -> None:
    slots = 1024
    result = asyncio.run(ours.concurrency(work / "conc", f"sqlite:///{work}/conc.db", runs, 1.0, slots))
    rows.append(
        Measurement(
            "B3",
            "ours",
            f"SQLite, {runs} runs, LLM step waits 1 s",
            {
                "seconds": result["seconds"],
                "engine_peak_mib": result["engine_peak_mib"],
                "app_peak_mib": result["app_peak_mib"],
            },
            f"engine max_concurrency={slots}",
        )
    )


def _b4(work: Path, count: int, rows: list[Measurement]) -> None:
    from bench.scale import scale

    result = asyncio.run(scale(work / "scale", f"sqlite:///{work}/scale.db", count))
    rows.append(Measurement("B4", "ours", f"SQLite, {count:,} runs + {count:,} events", result))
    if postgres_available():
        with scratch_postgres("scale") as url:
            result = asyncio.run(scale(work / "scale-pg", url, count))
        rows.append(Measurement("B4", "ours", f"PostgreSQL, {count:,} runs + {count:,} events", result))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="200 runs for B1/B3, 30 for B2, 20,000 for B4")
    parser.add_argument("--only", default="B1,B2,B3,B4", help="comma-separated benches, e.g. B1,B2")
    parser.add_argument("--runs", type=int, help="B1 runs (default 1,000; 200 with --quick)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, databases)")
    args = parser.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so every child process (engine, apps, workers) is stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    selected = {name.strip().upper() for name in args.only.split(",") if name.strip()}
    unknown = selected - {"B1", "B2", "B3", "B4"}
    if unknown:
        parser.error(f"unknown bench(es): {', '.join(sorted(unknown))}")
    sizes = {
        "B1": args.runs or (200 if args.quick else 1000),
        "B2": 30 if args.quick else 100,
        "B3": 200 if args.quick else 1000,
        "B4": 20_000 if args.quick else 100_000,
    }
    benches: dict[str, Callable[[Path, int, list[Measurement]], None]] = {
        "B1": _b1,
        "B2": _b2,
        "B3": _b3,
        "B4": _b4,
    }
    work = Path(tempfile.mkdtemp(prefix="marketing-agent-bench-"))
    rows: list[Measurement] = []
    failures: dict[str, str] = {}
    started = time.perf_counter()
    try:
        for name in ("B1", "B2", "B3", "B4"):
            if name not in selected:
                continue
            log.info("%s: starting (size %s)", name, sizes[name])
            try:
                benches[name](work / name.lower(), sizes[name], rows)
            except Exception as exc:  # one bench failing must not hide the others' numbers
                failures[name] = f"{type(exc).__name__}: {exc}"
                log.error("%s failed:\n%s", name, traceback.format_exc())
    finally:
        if args.keep:
            log.info("work folder kept: %s", work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    meta = {
        "command": "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:]),
        "finished_at": datetime.now(tz=UTC).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - started, 1),
        "sizes": {k: v for k, v in sizes.items() if k in selected},
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}, {_cpus()} CPUs",
        "failures": failures,
    }
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(tz=UTC).strftime("%Y%m%dT%H%M%SZ")
    document = {"meta": meta, "results": as_jsonable(rows)}
    for name in (f"bench-{stamp}.json", "latest.json"):
        (RESULTS / name).write_text(json.dumps(document, indent=2))
    table = report.table(rows)
    print(table)
    chart = report.chart(rows, RESULTS / "latest.png")
    print(f"\nJSON: {RESULTS / 'latest.json'}" + (f"   chart: {chart}" if chart else ""))
    for name, reason in failures.items():
        print(f"{name} FAILED: {reason}")
    return 1 if failures else 0


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


if __name__ == "__main__":
    sys.exit(main())
