"""The engine's tracing switch and span ids (docs/observability.md); the wire is covered end to end in
tests/e2e/agent/test_tracing.py."""

from __future__ import annotations

from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from marketing_agent.engine._ids import new_ulid
from marketing_agent.engine._w3c import parse_traceparent, traceparent
from marketing_agent.engine.config import otel_endpoint
from marketing_agent.engine.tracing import RunTracer


def test_the_standard_variables_switch_it() -> None:
    assert otel_endpoint({}) is None
    assert otel_endpoint({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}) == "http://127.0.0.1:4318"
    disabled = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"}
    assert otel_endpoint(disabled) is None


def test_traceparent_round_trip_and_bad_values() -> None:
    header = traceparent(0xABC, 0x12)
    assert header == "00-00000000000000000000000000000abc-0000000000000012-01"
    assert parse_traceparent(header) == (0xABC, 0x12)
    for bad in (None, "", "00-abc-12-01", "ff-" + header[3:], "00-" + "0" * 32 + "-0000000000000012-01", "zz"):
        assert parse_traceparent(bad) is None


def test_spans_of_a_run_share_its_trace_and_parent() -> None:
    exporter = InMemorySpanExporter()
    tracer = RunTracer("http://127.0.0.1:9", processor=SimpleSpanProcessor(exporter))
    event_tp = traceparent(0x1234, 0x99)
    run_id = new_ulid()
    tracer.remember(run_id, event_tp)
    span_id, header = tracer.new_attempt(run_id)
    assert parse_traceparent(header) == (0x1234, span_id)
    event = {"name": "t/x", "id": "01E"}
    tracer.attempt(span_id=span_id, run_id=run_id, function_id="app-fn", event=event, step="s1", attempt=2,
                   queued_at=1000, started=1500, ended=1600, status_code=206, outcome="StepError",
                   error="ValueError: boom")  # fmt: skip
    tracer.run_ended(run_id=run_id, function_id="app-fn", event=event, status="FAILED", queued_at=1000,
                     ended=1700, error="boom")  # fmt: skip
    attempt, run = exporter.get_finished_spans()
    assert attempt.context.trace_id == run.context.trace_id == 0x1234
    assert attempt.parent is not None
    assert attempt.parent.span_id == run.context.span_id
    assert run.parent is not None
    assert run.parent.span_id == 0x99
    assert attempt.attributes is not None
    assert (attempt.attributes["inngest.attempt"], attempt.attributes["inngest.queue_delay_ms"]) == (2, 500)
    assert (attempt.start_time, attempt.end_time) == (1500 * 10**6, 1600 * 10**6)
    assert not run.status.is_ok
    # Without an event trace, a run traces under its own id (its ULID), the same in every process.
    other = new_ulid()
    _, header = tracer.new_attempt(other)
    assert parse_traceparent(header) is not None
    assert RunTracer.run_span_id(other) == RunTracer.run_span_id(other)
