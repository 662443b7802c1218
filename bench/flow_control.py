"""``python -m bench.flow_control [--events N]``: what flow control costs at run start, and throttle precision.

1. Added latency at run start: the time flow control takes for one run (the start gate inside the ingest
   transaction plus the claim check of its first step), next to the whole ingest transaction (store the
   event, run the gate, create the run and its first queue item); with no controls, with a keyed throttle,
   and with every start control at once (idempotency, rate limit, singleton, throttle, priority, timeouts);
   on SQLite and, when one answers, PostgreSQL. Goal: < 1 ms p50 added.
2. Throttle precision under a 1,000-event burst:
   * scheduled: ``limit 10 / 1m`` (burst 0) on one key; the most starts the schedule puts in any 60 s window;
   * observed: a real engine and SDK app, ``limit 100 / 1s`` (burst 0); the most run starts the app sees in
     any 1 s window, and how late the last start is against the ideal 9.99 s.
Results are printed and written to ``bench/results/flow_control.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import tempfile
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import httpx

from bench.common import free_port, postgres_available, scratch_postgres
from marketing_agent.engine.config import EngineConfig
from marketing_agent.engine.execution.runtime import Runtime
from marketing_agent.engine.flow import StartDecision
from marketing_agent.engine.flow.control import FlowControl
from marketing_agent.engine.functions import FunctionDef
from marketing_agent.engine.functions.registry import Registry
from marketing_agent.engine.store import Conn, Store

RESULTS = Path(__file__).resolve().parent / "results" / "flow_control.json"
log = logging.getLogger("bench.flow_control")

STEP = {"step": {"id": "step", "name": "step", "runtime": {"type": "http", "url": "http://127.0.0.1:9/api"}}}
CONFIGS: dict[str, dict[str, Any]] = {
    "none": {},
    "throttle": {"throttle": {"limit": 10, "period": "1m", "burst": 1, "key": "event.data.userId"}},
    "all start controls": {
        "idempotency": "event.id",
        "rateLimit": {"limit": 1_000_000, "period": "1h", "key": "event.data.userId"},
        "singleton": {"key": "event.id", "mode": "skip"},
        "throttle": {"limit": 1_000_000, "period": "1m", "burst": 1, "key": "event.data.userId"},
        "priority": {"run": "event.data.vip ? 60 : 0"},
        "timeouts": {"start": "1h", "finish": "2h"},
    },
}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class _TimedGate(FlowControl):
    """Flow control that records how long each run-start decision took (the latency it adds)."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    async def admit(self, tx: Conn, fn: FunctionDef, event: dict[str, Any], now: int) -> StartDecision:
        began = time.perf_counter()
        try:
            return await super().admit(tx, fn, event, now)
        finally:
            self.times.append((time.perf_counter() - began) * 1000)


async def _ingest_times(url: str, options: dict[str, Any], events: int) -> tuple[list[float], list[float]]:
    """(ingest transaction times, flow-control times: start gate + first claim check) in ms, warm-up dropped."""
    store = await Store.open(url)
    try:
        registry = Registry(store)
        cfg = {"id": "app-f", "name": "f", "triggers": [{"event": "b/e"}], "steps": STEP, **options}
        await store.save_app("app", "http://127.0.0.1:9/api", {"url": "x"}, [("app-f", "f", cfg)], "x")
        await registry.refresh(force=True)
        gate = _TimedGate()
        runtime = Runtime(EngineConfig(database_url=url), store, registry, start_gate=gate, claim_gate=gate)
        fn = registry.get("app-f")
        assert fn is not None
        times: list[float] = []
        claims: list[float] = []
        for i in range(events):
            payload = {"name": "b/e", "id": f"e{i}", "ts": 0, "data": {"userId": f"u{i % 50}", "vip": i % 7 == 0}}
            began = time.perf_counter()
            async with store.transaction() as tx:
                items = await runtime.ingest(tx, [(f"e{i}", payload, None)], int(time.time() * 1000))
            times.append((time.perf_counter() - began) * 1000)
            began = time.perf_counter()  # the claim check of the run's first step (throttle pacing, timeouts)
            for item in items:
                await gate.allow(item, fn)
            claims.append((time.perf_counter() - began) * 1000)
        added = [admit + claim for admit, claim in zip(gate.times, claims, strict=True)]
        return times[events // 10 :], added[events // 10 :]
    finally:
        await store.close()


def start_latency(events: int) -> list[dict[str, Any]]:
    """Each configuration on a fresh database (SQLite file; a PostgreSQL scratch database when one answers)."""
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, options) in enumerate(CONFIGS.items()):
            rows.append(_row("sqlite", name, *asyncio.run(_ingest_times(f"sqlite:///{tmp}/c{i}.db", options, events))))
    if postgres_available():
        for name, options in CONFIGS.items():
            with scratch_postgres("flow") as url:
                rows.append(_row("postgres", name, *asyncio.run(_ingest_times(url, options, events))))
    return rows


def _row(backend: str, name: str, times: list[float], gate: list[float]) -> dict[str, Any]:
    return {
        "store": backend, "controls": name, "ingest_p50_ms": round(statistics.median(times), 3),
        "ingest_p95_ms": round(_pct(times, 0.95), 3), "added_p50_ms": round(statistics.median(gate), 3),
        "added_p95_ms": round(_pct(gate, 0.95), 3),
    }  # fmt: skip


def max_in_window(starts: list[float], window: float) -> int:
    best, j = 0, 0
    for i, t in enumerate(starts):
        while starts[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


async def scheduled_precision() -> dict[str, Any]:
    """1,000 events in one second on one key, ``limit 10 / 1m``: the starts the throttle schedules."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/s.db"
        store = await Store.open(url)
        try:
            registry = Registry(store)
            options = {"throttle": {"limit": 10, "period": "1m", "burst": 0, "key": "event.data.userId"}}
            cfg = {"id": "app-f", "name": "f", "triggers": [{"event": "b/e"}], "steps": STEP, **options}
            await store.save_app("app", "http://127.0.0.1:9/api", {"url": "x"}, [("app-f", "f", cfg)], "x")
            await registry.refresh(force=True)
            runtime = Runtime(EngineConfig(database_url=url), store, registry)
            t0 = 1_800_000_000_000
            for i in range(1000):
                payload = {"name": "b/e", "id": f"e{i}", "ts": 0, "data": {"userId": "u1"}}
                async with store.transaction() as tx:
                    await runtime.ingest(tx, [(f"e{i}", payload, None)], t0 + i)
            async with store.transaction() as tx:
                rows = await tx.fetch("SELECT available_at FROM queue WHERE kind = 'call' ORDER BY available_at")
        finally:
            await store.close()
    starts = [int(r["available_at"]) / 1000 for r in rows]
    return {"events": 1000, "limit": 10, "period_s": 60, "runs": len(starts),
            "max_starts_in_any_60s": max_in_window(starts, 60.0),
            "last_start_after_s": round(starts[-1] - t0 / 1000, 3)}  # fmt: skip


class _ThreadServer:
    """A uvicorn server in a daemon thread (the engine, or the SDK app)."""

    def __init__(self, app: Any, port: int) -> None:
        import uvicorn

        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> _ThreadServer:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def observed_precision(events: int) -> dict[str, Any]:
    """A real engine and SDK app: ``limit 100 / 1s`` (burst 0), ``events`` sent at once."""
    os.environ.setdefault("INNGEST_DEV", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import inngest
        import inngest.fast_api
    from fastapi import FastAPI

    from marketing_agent.engine import create_engine_app

    starts: dict[str, float] = {}
    lock = threading.Lock()
    engine_port, app_port = free_port(), free_port()
    engine_url = f"http://127.0.0.1:{engine_port}"
    client = inngest.Inngest(app_id="bench-flow", is_production=False, api_base_url=engine_url,
                             event_api_base_url=engine_url)  # fmt: skip

    @client.create_function(
        fn_id="burst", trigger=inngest.TriggerEvent(event="b/burst"), retries=0,
        throttle=inngest.Throttle(limit=100, period=1000, burst=0),
    )  # fmt: skip
    async def burst(ctx: inngest.Context) -> None:
        with lock:
            starts.setdefault(ctx.run_id, time.monotonic())

    app = FastAPI()
    inngest.fast_api.serve(app, client, [burst])
    with tempfile.TemporaryDirectory() as tmp:
        config = EngineConfig(database_url=f"sqlite:///{tmp}/o.db", port=engine_port, cron=False, fast_retries=True)
        with _ThreadServer(create_engine_app(config), engine_port), _ThreadServer(app, app_port):
            httpx.post(f"{engine_url}/v1/apps/sync", json={"url": f"http://127.0.0.1:{app_port}/api/inngest"},
                       timeout=30).raise_for_status()  # fmt: skip
            sent = time.monotonic()
            for i in range(0, events, 100):
                body = [{"name": "b/burst", "data": {"i": j}} for j in range(i, min(events, i + 100))]
                httpx.post(f"{engine_url}/e/bench", json=body, timeout=30).raise_for_status()
            deadline = time.monotonic() + events / 100 + 60
            while len(starts) < events and time.monotonic() < deadline:
                time.sleep(0.05)
    ordered = sorted(starts.values())
    return {"events": events, "limit": 100, "period_s": 1, "runs_started": len(ordered),
            "max_starts_in_any_1s": max_in_window(ordered, 1.0),
            "last_start_after_s": round(ordered[-1] - sent, 3) if ordered else None,
            "ideal_last_start_s": round((events - 1) / 100, 3)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=2000, help="ingests per latency measurement")
    parser.add_argument("--burst", type=int, default=1000, help="events in the observed throttle burst")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    result: dict[str, Any] = {"start_latency": start_latency(args.events)}
    for row in result["start_latency"]:
        print(f"{row['store']:9} {row['controls']:20} ingest p50 {row['ingest_p50_ms']:7.3f} ms"
              f"  p95 {row['ingest_p95_ms']:7.3f} ms  flow control p50 {row['added_p50_ms']:.3f} ms"
              f"  p95 {row['added_p95_ms']:.3f} ms")  # fmt: skip
    result["throttle_scheduled"] = asyncio.run(scheduled_precision())
    print("throttle scheduled:", json.dumps(result["throttle_scheduled"]))
    result["throttle_observed"] = observed_precision(args.burst)
    print("throttle observed: ", json.dumps(result["throttle_observed"]))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
