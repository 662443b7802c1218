"""A local OTLP/HTTP trace receiver, run as its own process: ``python -m support.otlp_receiver PORT OUT``.

It accepts ``POST /v1/traces`` (protobuf ``ExportTraceServiceRequest``, gzip or not, as the OTLP/HTTP spec
allows), decodes it with ``opentelemetry-proto`` and appends one JSON line per span to ``OUT``: service name,
trace/span/parent ids (hex), name, kind, start/end (ns), status code and message, and the attributes.
Tests read the file; :class:`OtlpReceiver` starts and stops the process.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from support.net import free_port, wait_for_port


def _value(v: AnyValue) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_value(x) for x in v.array_value.values]
    return getattr(v, kind) if kind else None


def decode(body: bytes) -> list[dict[str, Any]]:
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    spans: list[dict[str, Any]] = []
    for rs in request.resource_spans:
        resource = {a.key: _value(a.value) for a in rs.resource.attributes}
        for ss in rs.scope_spans:
            for s in ss.spans:
                spans.append({
                    "service": resource.get("service.name"),
                    "scope": ss.scope.name,
                    "trace_id": s.trace_id.hex(),
                    "span_id": s.span_id.hex(),
                    "parent_span_id": s.parent_span_id.hex(),
                    "name": s.name,
                    "kind": s.kind,
                    "start": s.start_time_unix_nano,
                    "end": s.end_time_unix_nano,
                    "status": s.status.code,
                    "status_message": s.status.message,
                    "attributes": {a.key: _value(a.value) for a in s.attributes},
                })  # fmt: skip
    return spans


def serve(port: int, out: Path) -> None:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            if self.headers.get("content-encoding") == "gzip":
                body = gzip.decompress(body)
            if self.path != "/v1/traces" or self.headers.get("content-type") != "application/x-protobuf":
                self.send_response(404 if self.path != "/v1/traces" else 415)
                self.end_headers()
                return
            with out.open("a") as f:
                for span in decode(body):
                    f.write(json.dumps(span) + "\n")
            reply = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


class OtlpReceiver:
    """The receiver process on a free loopback port; ``endpoint`` is what OTEL_EXPORTER_OTLP_ENDPOINT is set to."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> OtlpReceiver:
        tests_dir = str(Path(__file__).resolve().parent.parent)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "support.otlp_receiver", str(self.port), str(self.out)], cwd=tests_dir
        )
        wait_for_port(self.port, timeout=30)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.proc is not None
        self.proc.terminate()
        self.proc.wait(timeout=10)

    def spans(self) -> list[dict[str, Any]]:
        if not self.out.exists():
            return []
        return [json.loads(line) for line in self.out.read_text().splitlines() if line.strip()]

    def wait_for(self, check: Any, timeout: float = 20) -> list[dict[str, Any]]:
        """The spans received once ``check(spans)`` is true."""
        deadline = time.monotonic() + timeout
        while True:
            spans = self.spans()
            if check(spans):
                return spans
            if time.monotonic() > deadline:
                names = sorted({f"{s['service']}: {s['name']}" for s in spans})
                raise TimeoutError(f"spans not as expected after {timeout}s; received: {names}")
            time.sleep(0.1)


def iter_trace(spans: list[dict[str, Any]], trace_id: str) -> Iterator[dict[str, Any]]:
    return (s for s in spans if s["trace_id"] == trace_id)


if __name__ == "__main__":
    serve(int(sys.argv[1]), Path(sys.argv[2]))
