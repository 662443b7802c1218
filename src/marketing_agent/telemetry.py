"""OpenTelemetry on the app side (docs/observability.md): the API and the SDK app join the engine's traces.

With ``OTEL_EXPORTER_OTLP_ENDPOINT`` set, :func:`start_tracing` gives the API an ASGI server span per HTTP
request — which continues the W3C ``traceparent`` the engine sends on each step call — and instruments
``httpx`` and ``httpx2``, so the event sent to the engine (it carries the request's ``traceparent``) and
each LLM call (the Anthropic SDK speaks httpx2, the OpenAI SDK httpx) are client spans in the same trace.
Unset: nothing is imported or patched. The provider is our own (not the process-global one), and
:meth:`AppTracing.stop` undoes the patching, so several apps in one process (tests) do not leak spans.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

SERVICE_NAME = "marketing-agent"


@dataclass
class AppTracing:
    provider: TracerProvider

    def stop(self) -> None:
        """Undo the httpx patches and flush what is buffered."""
        from opentelemetry.instrumentation.httpx import HTTPX2ClientInstrumentor, HTTPXClientInstrumentor

        HTTPXClientInstrumentor().uninstrument()
        HTTPX2ClientInstrumentor().uninstrument()
        self.provider.shutdown()


def start_tracing(endpoint: str | None, service_name: str = SERVICE_NAME) -> AppTracing | None:
    """Export spans to ``<endpoint>/v1/traces`` (OTLP/HTTP) and instrument httpx and httpx2; None when
    ``endpoint`` is unset."""
    if not endpoint:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.httpx import HTTPX2ClientInstrumentor, HTTPXClientInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource: Any = Resource.create({"service.name": service_name})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")))
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    HTTPX2ClientInstrumentor().instrument(tracer_provider=provider)
    return AppTracing(provider)
