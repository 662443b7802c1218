"""The common part of the fake LLM servers: a threaded loopback HTTP server with a reply queue.

Tests script it with :meth:`FakeLLMServer.enqueue` (each queued reply answers one request, in order;
an empty queue answers with the subclass's default success) and read what the SDKs really sent in
:attr:`FakeLLMServer.requests`.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from support.net import free_port


@dataclass(frozen=True)
class FakeReply:
    """One scripted answer. ``body`` None: the server's default success, with ``text`` when given."""

    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (timeouts)
    text: str | None = None
    usage: dict[str, Any] | None = None
    stop_reason: str | None = None  # e.g. "max_tokens" (Anthropic) / "length" (OpenAI)
    #: Tool calls the model makes, each ``{"name": …, "input": {…}}`` (the server adds the ids).
    tool_calls: tuple[dict[str, Any], ...] = ()
    #: Anthropic only: queries the server-side web search runs itself before answering.
    server_searches: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    json: Any


class FakeLLMServer:
    """Subclasses implement :meth:`answer` in their API's wire format."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._replies: deque[FakeReply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        #: When set, chooses the reply for each request (instead of the queue): a script by conversation
        #: state survives a retried or repeated request, which a queue does not.
        self.responder: Callable[[RecordedRequest], FakeReply | None] | None = None

    # --- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> Self:
        self.port = free_port()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # quick shutdown between tests
            name=type(self).__name__,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # releases replies that are still waiting out a delay
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- scripting ---------------------------------------------------------------------------------
    def enqueue(self, *replies: FakeReply) -> None:
        with self._lock:
            self._replies.extend(replies)

    def _next_reply(self, request: RecordedRequest) -> FakeReply | None:
        if self.responder is not None:
            return self.responder(request)
        with self._lock:
            return self._replies.popleft() if self._replies else None

    def answer(self, request: RecordedRequest, reply: FakeReply | None) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Status, JSON body and headers for one request."""
        raise NotImplementedError

    # --- HTTP --------------------------------------------------------------------------------------
    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("content-length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            payload: Any = json.loads(raw) if raw else None
        except ValueError:
            payload = None
        request = RecordedRequest(
            method=handler.command,
            path=handler.path,
            headers={k.lower(): v for k, v in handler.headers.items()},
            json=payload,
        )
        with self._lock:
            self.requests.append(request)
        reply = self._next_reply(request)
        if reply is not None and reply.delay:
            self._stopping.wait(reply.delay)
        status, body, headers = self.answer(request, reply)
        data = json.dumps(body).encode()
        try:
            handler.send_response(status)
            handler.send_header("content-type", "application/json")
            handler.send_header("content-length", str(len(data)))
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to answer

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                server._handle(self)

            def do_GET(self) -> None:
                server._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        return Handler


def estimate_tokens(text: str) -> int:
    """About four characters a token, like the providers' English average; at least one for any text."""
    return max(1, (len(text) + 3) // 4) if text else 0
