"""EngineService: wires store, registry, runtime, executor, cron and app sync; one per engine process."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from typing import TYPE_CHECKING, Any

from ._ids import new_ulid, now_ms, seeded_event_ids
from ._w3c import parse_traceparent
from .config import EngineConfig
from .errors import FunctionConfigInvalid, InvalidRequest, NotFound, PayloadTooLarge, SyncFailed
from .execution.client import AppClient
from .execution.cron import CronScheduler
from .execution.dispatcher import Executor
from .execution.replays import Replays
from .execution.runtime import Runtime
from .flow.port import RunStartGate, StepClaimGate
from .functions.model import parse_app
from .functions.registry import Registry
from .store import Store

if TYPE_CHECKING:
    from .tracing import RunTracer

log = logging.getLogger(__name__)

#: Largest event ``ts`` accepted (2**53 ms is some 285,000 years; JSON numbers beyond it lose precision).
MAX_TS_MS = 2**53


class EngineService:
    def __init__(
        self, config: EngineConfig, start_gate: RunStartGate | None = None, claim_gate: StepClaimGate | None = None
    ) -> None:
        self.config = config
        self._start_gate = start_gate
        self._claim_gate = claim_gate
        self.store: Store
        self.registry: Registry
        self.runtime: Runtime
        self.executor: Executor
        self.replays: Replays
        #: OpenTelemetry run traces (tracing.py); None unless ``config.otel_endpoint``: the hot path tests only that.
        self.tracer: RunTracer | None = None
        self.client = AppClient(config.signing_key, config.request_timeout, config.dev, config.ai_gateway_hosts)
        self.cron: CronScheduler | None = None
        self._bg: list[asyncio.Task[None]] = []
        self.started = False

    async def start(self) -> None:
        self.store = await Store.open(self.config.database_url)
        self.registry = Registry(self.store)
        await self.registry.refresh(force=True)
        if self.config.otel_endpoint:
            from .tracing import RunTracer  # imported only when on: the OTel SDK stays out of a plain engine

            self.tracer = RunTracer(self.config.otel_endpoint)
        self.runtime = Runtime(self.config, self.store, self.registry, self._start_gate, self._claim_gate)
        self.runtime.tracer = self.tracer
        await self.client.start()
        self.executor = Executor(self.runtime, self.client)
        self.replays = Replays(self.runtime, self.executor)
        if self.config.workers:
            await self.executor.start()
            self.replays.start()
        if self.config.cron:
            self.cron = CronScheduler(self.runtime, self.executor)
            await self.cron.resync()
            self.cron.start()
        self._bg.append(asyncio.create_task(self._refresh_loop(), name="engine-registry"))
        for url in self.config.app_urls:
            self._bg.append(asyncio.create_task(self._sync_at_start(url), name=f"engine-sync-{url}"))
        self.started = True

    async def stop(self) -> None:
        for t in self._bg:
            t.cancel()
        await asyncio.gather(*self._bg, return_exceptions=True)
        if self.cron:
            await self.cron.stop()
        if self.config.workers:
            await self.replays.stop()
            await self.executor.stop()
        await self.client.close()
        if self.tracer is not None:
            self.tracer.shutdown()
        await self.store.close()
        self.started = False

    async def _refresh_loop(self) -> None:
        """Pick up syncs done by other engine processes sharing the database."""
        while True:
            await asyncio.sleep(1.0)
            try:
                if await self.registry.refresh() and self.cron:
                    self.cron.wake()
            except Exception:
                log.exception("registry refresh failed")

    async def _sync_at_start(self, url: str) -> None:
        deadline = asyncio.get_running_loop().time() + self.config.sync_timeout
        delay = 0.1
        while True:
            try:
                await self.sync_app(url)
                log.info("synced app %s", url)
                return
            except SyncFailed as exc:
                if asyncio.get_running_loop().time() > deadline:
                    log.error("could not sync %s: %s", url, exc)
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    # ---- sync ---------------------------------------------------------------------------------------

    async def sync_app(self, url: str) -> dict[str, Any]:
        """PUT the app URL; the SDK answers with what our ``/fn/register`` told it."""
        reply = await self.client.put_sync(url)
        if reply.status == 0:
            raise SyncFailed(f"app at {url} did not answer: {reply.error}")
        try:
            body = reply.json()
        except ValueError:
            body = None
        if reply.status != 200 or not isinstance(body, dict):
            raise SyncFailed(f"app at {url} answered HTTP {reply.status}: {reply.body[:300]!r}")
        if body.get("error"):
            raise SyncFailed(f"sync of {url} refused: {body['error']}")
        return body

    async def register(self, payload: Any) -> dict[str, Any]:
        """``POST /fn/register``: validate and store an app's functions (a bad config keeps the old ones)."""
        if not isinstance(payload, dict):
            raise FunctionConfigInvalid("body must be a JSON object")
        try:
            app_id, fns = parse_app(payload)
        except FunctionConfigInvalid as exc:
            app = payload.get("appname") or payload.get("appName")
            await self.store.record_app_error(str(payload.get("url") or ""), app if isinstance(app, str) else None,
                                              str(exc))  # fmt: skip
            raise
        checksum = hashlib.sha256(
            json.dumps(payload.get("functions"), sort_keys=True, separators=(",", ":")).encode()
        ).hexdigest()
        modified = await self.store.save_app(
            app_id, str(payload["url"]), payload, [(f.id, f.name, f.config) for f in fns], checksum
        )
        await self.registry.refresh(force=True)
        if self.cron:
            await self.cron.resync()
        return {"ok": True, "modified": modified, "app_id": app_id, "sync_id": new_ulid()}

    # ---- events -------------------------------------------------------------------------------------

    def parse_events(self, raw: bytes, seed: str | None) -> list[tuple[str, dict[str, Any], str | None]]:
        cfg = self.config
        if len(raw) > cfg.max_request_bytes:
            raise PayloadTooLarge(f"request is {len(raw)} bytes; the limit is {cfg.max_request_bytes}")
        try:
            body = json.loads(raw) if raw.strip() else None
        except (ValueError, RecursionError) as exc:  # RecursionError: nested deeper than the parser recurses
            raise InvalidRequest(f"body is not valid JSON: {exc}") from exc
        items = body if isinstance(body, list) else [body]
        if not items or body is None:
            raise InvalidRequest("no events in the request")
        ids = seeded_event_ids(seed, len(items))
        now = now_ms()
        out: list[tuple[str, dict[str, Any], str | None]] = []
        for i, ev in enumerate(items):
            if not isinstance(ev, dict):
                raise InvalidRequest(f"event {i}: must be a JSON object")
            name = ev.get("name")
            if not isinstance(name, str) or not name.strip():
                raise InvalidRequest(f"event {i}: name is required")
            if len(name) > 256:
                raise InvalidRequest(f"event {i}: name is longer than 256 characters")
            data = ev.get("data")
            if data is None:
                data = {}
            if not isinstance(data, dict):
                raise InvalidRequest(f"event {i}: data must be an object")
            size = len(json.dumps(ev, separators=(",", ":")))
            if size > cfg.max_event_bytes:
                raise PayloadTooLarge(f"event {i} is {size} bytes; the limit is {cfg.max_event_bytes}")
            # A mistyped id or ts is refused, not replaced: a dropped id would silently lose deduplication.
            if ev.get("id") is not None and not isinstance(ev.get("id"), str):
                raise InvalidRequest(f"event {i}: id must be a string")
            ts = ev.get("ts")
            if ts is not None and (
                isinstance(ts, bool) or not isinstance(ts, int | float) or not abs(ts) < MAX_TS_MS
            ):  # also NaN, Infinity and values no BIGINT column holds
                raise InvalidRequest(f"event {i}: ts must be a number (milliseconds since the epoch)")
            user_id = ev.get("id") if isinstance(ev.get("id"), str) and ev.get("id") else None
            payload: dict[str, Any] = {
                "name": name, "data": data, "id": user_id or ids[i],
                "ts": int(ts) if isinstance(ts, int | float) and ts > 0 else now,
            }  # fmt: skip
            for key in ("user", "v"):
                if ev.get(key) is not None:
                    payload[key] = ev[key]
            out.append((ids[i], payload, user_id))
        return out

    async def send_events(
        self, events: list[tuple[str, dict[str, Any], str | None]], traceparent: str | None = None
    ) -> list[str]:
        """Persist events (durably, before answering) and start what they trigger. With tracing on, the
        sender's W3C ``traceparent`` is kept with the events so their runs join its trace."""
        now = now_ms()
        async with self.store.transaction() as tx:
            items = await self.runtime.ingest(tx, events, now)
            if self.tracer is not None and parse_traceparent(traceparent):
                assert traceparent is not None
                await self.store.set_events_trace_parent(tx, [e[0] for e in events], traceparent)
                for item in items:
                    self.tracer.remember(item.run_id, traceparent)
        self.executor.submit(items)
        return [e[0] for e in events]

    # ---- actions ------------------------------------------------------------------------------------

    async def cancel_run(self, run_id: str) -> bool:
        async with self.store.transaction() as tx:
            run = await self.store.lock_run(tx, run_id)
            if run is None:
                raise NotFound(f"run {run_id} not found")
            if not run.active:
                return False
            items = await self.runtime.cancel(tx, run_id, now_ms(), reason="cancelled by API")
        self.executor.submit(items)
        return True

    async def rerun(self, run_id: str) -> str:
        old = await self.store.get_run(run_id)
        if old is None:
            raise NotFound(f"run {run_id} not found")
        fn = self.registry.get(old["function_id"])
        if fn is None:
            raise InvalidRequest(f"function {old['function_id']} is no longer registered")
        now = now_ms()
        async with self.store.transaction() as tx:
            item = await self.runtime.start_run(tx, fn, old["events"], old["event_id"], now, rerun_of=run_id)
            new_id = item.run_id if item else ""
        if item:
            self.executor.submit([item])
        return new_id

    async def invoke(self, function_id: str, data: dict[str, Any]) -> str:
        """Start a run of one function directly (dashboard "Invoke"), with an ``inngest/function.invoked`` event."""
        fn = self.registry.get(function_id)
        if fn is None:
            raise NotFound(f"function {function_id} not found")
        now = now_ms()
        event_id = new_ulid(now)
        event: dict[str, Any] = {"name": "inngest/function.invoked", "id": event_id, "ts": now, "data": data}
        async with self.store.transaction() as tx:
            await self.store.insert_event(tx, event_id, "inngest/function.invoked", event, None, now, now)
            item = await self.runtime.start_run(tx, fn, [event], event_id, now)
        if item:
            self.executor.submit([item])
            return item.run_id
        return ""
