"""OpenTelemetry traces of function runs (docs/observability.md), exported over OTLP/HTTP.

On only when an OTLP endpoint is configured (:attr:`EngineConfig.otel_endpoint`, from the standard
``OTEL_EXPORTER_OTLP_ENDPOINT``); otherwise the engine holds ``None`` and the hot path pays one ``is None`` test.

One trace per function run, with a span for the run and one per step attempt (each call to the app). A run
lives longer than any process, so no span object is kept open: every span is built when its end is known,
with ids fixed in advance —

* the **trace id** is the one of the W3C ``traceparent`` the triggering event arrived with (the API's HTTP
  request, the app's ``send``), so one trace shows request → event → steps → LLM call; without one it is
  the run's ULID (128 bits, like a trace id);
* the **run span id** is derived from the run id, so every process computes the same parent for its
  attempts and the run span emitted at the end fits under the event's span;
* each **attempt span** gets a random id before the call, and the app receives it as ``traceparent``; the
  SDK app's own spans (HTTP server, LLM client) join under it.
"""

from __future__ import annotations

import logging
import os
import random
from typing import Any

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from ._ids import ulid_bytes
from ._w3c import parse_traceparent, traceparent

log = logging.getLogger(__name__)

SCOPE = InstrumentationScope("marketing_agent.engine")
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
#: Runs whose trace parent is remembered (the rest is read from the store again on the next attempt).
_CACHE_RUNS = 10_000


class RunTracer:
    """Builds and exports the spans of function runs. One per engine process (``EngineService.tracer``)."""

    def __init__(self, endpoint: str, processor: SpanProcessor | None = None) -> None:
        # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES are read by Resource.create, as everywhere in OTel.
        self.resource = Resource.create(
            {"service.name": os.environ.get("OTEL_SERVICE_NAME") or "marketing-agent-engine"}
        )
        exporter = OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")
        self.processor = processor or BatchSpanProcessor(exporter)
        self._parents: dict[str, tuple[int, int | None]] = {}

    def shutdown(self) -> None:
        """Flush what is buffered (the engine's stop)."""
        self.processor.shutdown()

    # ---- ids ----------------------------------------------------------------------------------------

    def remember(self, run_id: str, event_traceparent: str | None) -> tuple[int, int | None]:
        """The run's (trace id, parent span id of the run span) from its event's traceparent."""
        ids = _ids(run_id, event_traceparent)
        if len(self._parents) >= _CACHE_RUNS:  # forget the oldest (dicts keep insertion order)
            del self._parents[next(iter(self._parents))]
        self._parents[run_id] = ids
        return ids

    def known(self, run_id: str) -> tuple[int, int | None] | None:
        return self._parents.get(run_id)

    @staticmethod
    def run_span_id(run_id: str) -> int:
        return int.from_bytes(ulid_bytes(run_id)[8:], "big") or 1

    # ---- spans --------------------------------------------------------------------------------------

    def new_attempt(self, run_id: str) -> tuple[int, str]:
        """A span id for the next attempt of ``run_id`` and the ``traceparent`` header that carries it."""
        trace_id, _ = self._parents.get(run_id) or self.remember(run_id, None)
        span_id = random.getrandbits(64) or 1
        return span_id, traceparent(trace_id, span_id)

    def attempt(
        self,
        *,
        span_id: int,
        run_id: str,
        function_id: str,
        event: dict[str, Any],
        step: str,
        attempt: int,
        queued_at: int,
        started: int,
        ended: int,
        status_code: int,
        outcome: str,
        error: str | None,
    ) -> None:
        trace_id, _ = self._parents.get(run_id) or self.remember(run_id, None)
        attributes = {
            "inngest.function.id": function_id,
            "inngest.run.id": run_id,
            "inngest.event.name": str(event.get("name") or ""),
            "inngest.event.id": str(event.get("id") or ""),
            "inngest.step": step,
            "inngest.attempt": attempt,
            "inngest.queue_delay_ms": max(0, started - queued_at),
            "inngest.outcome": outcome,
            "http.response.status_code": status_code,
        }
        if error:
            attributes["error.message"] = error
        self._emit(
            f"{function_id} {step} attempt {attempt}", trace_id, span_id, self.run_span_id(run_id), started, ended,
            attributes, error, SpanKind.CLIENT,
        )  # fmt: skip

    def run_ended(
        self, *, run_id: str, function_id: str, event: dict[str, Any], status: str, queued_at: int, ended: int,
        error: str | None,
    ) -> None:  # fmt: skip
        known = self._parents.pop(run_id) if run_id in self._parents else None
        trace_id, parent = known or _ids(run_id, None)
        attributes = {
            "inngest.function.id": function_id,
            "inngest.run.id": run_id,
            "inngest.event.name": str(event.get("name") or ""),
            "inngest.event.id": str(event.get("id") or ""),
            "inngest.run.status": status,
        }
        if error:
            attributes["error.message"] = error
        self._emit(function_id, trace_id, self.run_span_id(run_id), parent, queued_at, ended, attributes,
                   error if status == "FAILED" else None, SpanKind.INTERNAL)  # fmt: skip

    def _emit(
        self, name: str, trace_id: int, span_id: int, parent_id: int | None, start_ms: int, end_ms: int,
        attributes: dict[str, Any], error: str | None, kind: SpanKind,
    ) -> None:  # fmt: skip
        parent = SpanContext(trace_id, parent_id, is_remote=True, trace_flags=_SAMPLED) if parent_id else None
        span = ReadableSpan(
            name=name,
            context=SpanContext(trace_id, span_id, is_remote=False, trace_flags=_SAMPLED),
            parent=parent,
            resource=self.resource,
            attributes=attributes,
            kind=kind,
            status=Status(StatusCode.ERROR, error) if error else Status(StatusCode.OK),
            start_time=start_ms * 1_000_000,
            end_time=max(end_ms, start_ms) * 1_000_000,
            instrumentation_scope=SCOPE,
        )
        try:
            self.processor.on_end(span)
        except Exception:  # tracing must never break a run
            log.debug("span export failed", exc_info=True)


def _ids(run_id: str, event_traceparent: str | None) -> tuple[int, int | None]:
    """(trace id, parent of the run span): the event's trace, else a trace of the run's own (its ULID)."""
    parsed = parse_traceparent(event_traceparent)
    return parsed if parsed else (int.from_bytes(ulid_bytes(run_id), "big"), None)
