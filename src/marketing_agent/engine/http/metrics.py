"""``GET /metrics``: Prometheus text exposition of the engine.

Gauges are read from the store at scrape time (runs by displayed status, queue depth per function and
state). Step latency, attempts, retries and received events are counters and a histogram fed by tailing
the store: attempts by their ULID id, events by ``received_at``, both up to ``lag_ms`` ago so that a
transaction still committing is never skipped. Counters start at zero when the process starts (Prometheus
handles resets). On PostgreSQL every engine process sees the whole database: scrape one of them.
Access is the dashboard's (dev loopback, or ``Bearer <ENGINE_DASHBOARD_TOKEN>``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .._ids import now_ms
from ..config import EngineConfig
from ..service import EngineService
from ..store import inspect as store_inspect
from . import auth

log = logging.getLogger(__name__)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200)
MAX_TAIL_BATCHES = 20


class _Gauges:
    """A collector that yields the families computed by the last refresh."""

    def __init__(self) -> None:
        self.families: list[Metric] = []

    def collect(self) -> Iterator[Metric]:
        yield from self.families


class MetricsEndpoint:
    lag_ms = 1000

    def __init__(self, service: EngineService, config: EngineConfig) -> None:
        self.service = service
        self.config = config
        self.registry = CollectorRegistry(auto_describe=False)
        self.latency = Histogram(
            "engine_step_duration_seconds", "Duration of calls to apps (step attempts and discovery calls).",
            ["function_id"], buckets=LATENCY_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self.attempts = Counter(
            "engine_step_attempts",
            "Calls to apps by outcome.",
            ["function_id", "outcome"],
            registry=self.registry,
        )
        self.retries = Counter(
            "engine_step_retries",
            "Calls that were retries (attempt > 0).",
            ["function_id"],
            registry=self.registry,
        )
        self.events = Counter("engine_events_received", "Events received (including internal ones).",
                              registry=self.registry)  # fmt: skip
        self.gauges = _Gauges()
        self.registry.register(self.gauges)
        self._lock = asyncio.Lock()
        self._attempt_cursor = ""
        self._event_mark = 0

    def reset_cursor(self) -> None:
        """Count from now on (called when the engine starts)."""
        mark = now_ms() - self.lag_ms
        self._attempt_cursor = store_inspect.ulid_floor(mark)
        self._event_mark = mark

    async def refresh(self) -> None:
        store = self.service.store
        upto_ms = now_ms() - self.lag_ms
        upto = store_inspect.ulid_floor(upto_ms)
        for _ in range(MAX_TAIL_BATCHES):
            rows = await store_inspect.attempts_after(store, self._attempt_cursor, upto)
            for r in rows:
                fid = r["function_id"] or "unknown"
                self.latency.labels(fid).observe(max(0, int(r["ended_at"]) - int(r["started_at"])) / 1000)
                self.attempts.labels(fid, r["outcome"]).inc()
                if int(r["attempt"]) > 0:
                    self.retries.labels(fid).inc()
            if not rows:
                break
            self._attempt_cursor = rows[-1]["id"]
        if upto_ms > self._event_mark:
            self.events.inc(await store_inspect.events_received_between(store, self._event_mark, upto_ms))
            self._event_mark = upto_ms
        runs = GaugeMetricFamily("engine_runs", "Runs in the store by displayed status.", labels=["status"])
        for status, n in (await store_inspect.runs_by_status(store)).items():
            runs.add_metric([status.lower()], n)
        queue = GaugeMetricFamily(
            "engine_queue_depth", "Queue items per function: ready (due), delayed (later), leased (running).",
            labels=["function_id", "state"],
        )  # fmt: skip
        for row in await store_inspect.queue_by_function(store):
            for state in ("ready", "delayed", "leased"):
                queue.add_metric([row["function_id"], state], row[state])
        self.gauges.families = [runs, queue]

    async def handle(self, request: Request) -> Response:
        verdict = auth.access(request, self.config)
        if verdict != "ok":
            status = 401 if verdict == "login" else 403
            body: dict[str, Any] = {"error": "metrics need Authorization: Bearer <ENGINE_DASHBOARD_TOKEN>"}
            return JSONResponse(body, status_code=status)
        async with self._lock:
            await self.refresh()
            text = generate_latest(self.registry)
        return Response(text, media_type=CONTENT_TYPE_LATEST)
