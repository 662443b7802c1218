"""Step log capture: the ``logging`` records a step emits, shipped to the engine for its run page.

Inngest's dev server only shows logs in the terminal (inngest/inngest#2515). Here an SDK middleware
(:class:`StepLogMiddleware`, added to the client's ``middleware=[...]``) binds a buffer to the request through
a contextvar; one handler on the root logger appends to whatever buffer is bound, so only records emitted
while new code runs in this request (the step being executed, or the function's code after its last
memoized step) are kept. Before the SDK answers, the buffer is sent to ``POST {engine}/v1/runs/{id}/logs``
in one batch, in the background.

Best effort by design: a full buffer drops lines, a failed send is logged at debug level and forgotten,
and nothing here can fail or slow down the step. Records follow the app's logging levels (a logger set to
WARNING ships warnings only).
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import httpx
import inngest

log = logging.getLogger(__name__)

MAX_LINES_PER_REQUEST = 200
MAX_MESSAGE_CHARS = 4000
SEND_TIMEOUT = 5.0
# Never capture the shipping itself (or the HTTP client's own records about it).
_IGNORED_LOGGERS = (__name__, "httpx", "httpcore")


@dataclass
class _Buffer:
    run_id: str
    attempt: int
    active: bool = False
    step: str = ""
    lines: list[dict[str, Any]] = field(default_factory=list)
    dropped: int = 0


_current: contextvars.ContextVar[_Buffer | None] = contextvars.ContextVar("step_log_buffer", default=None)
_pending: set[asyncio.Task[None]] = set()


class _CaptureHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        buf = _current.get()
        if buf is None or not buf.active or record.name.startswith(_IGNORED_LOGGERS):
            return
        if len(buf.lines) >= MAX_LINES_PER_REQUEST:
            buf.dropped += 1
            return
        try:
            message = record.getMessage()
            if record.exc_info:
                message += "\n" + logging.Formatter().formatException(record.exc_info)
        except Exception:  # a bad format string must not break the step
            message = str(record.msg)
        buf.lines.append({
            "ts": int(record.created * 1000), "level": record.levelname, "logger": record.name,
            "message": message[:MAX_MESSAGE_CHARS],
        })  # fmt: skip


_HANDLER = _CaptureHandler(level=logging.DEBUG)


def install_capture() -> None:
    """Attach the capture handler to the root logger once (idempotent)."""
    root = logging.getLogger()
    if _HANDLER not in root.handlers:
        root.addHandler(_HANDLER)


def _auth_header(client: inngest.Inngest) -> dict[str, str]:
    key = client.signing_key
    if not client.is_production or not key:
        return {}
    hex_part = re.sub(r"^signkey-\w+?-", "", key)
    try:
        hashed = hashlib.sha256(bytes.fromhex(hex_part)).hexdigest()
    except ValueError:
        return {}
    return {"authorization": f"Bearer {hashed}"}


async def _send(url: str, headers: dict[str, str], lines: list[dict[str, Any]]) -> None:
    try:
        async with httpx.AsyncClient(timeout=SEND_TIMEOUT) as http:
            reply = await http.post(url, json={"lines": lines}, headers=headers)
        if reply.status_code >= 300:
            log.debug("step logs refused: HTTP %s", reply.status_code)
    except Exception as exc:  # best effort: the engine may be down or not ours (Inngest Cloud)
        log.debug("step logs not sent: %s", exc)


class StepLogMiddleware(inngest.Middleware):
    """Captures the log lines of each step execution and ships them to the engine (see the module doc)."""

    def __init__(self, client: inngest.Inngest, raw_request: object) -> None:
        super().__init__(client, raw_request)
        install_capture()
        self._buf: _Buffer | None = None

    async def transform_input(self, ctx: Any, function: Any, steps: Any) -> None:
        self._buf = _Buffer(run_id=str(ctx.run_id), attempt=int(ctx.attempt))
        _current.set(self._buf)

    async def before_execution(self) -> None:
        # Memoized steps are replayed without running; only new code from here on is this request's work.
        if self._buf is not None:
            self._buf.active = True

    async def transform_output(self, result: Any) -> None:
        if self._buf is not None and getattr(result, "step", None) is not None:
            self._buf.step = str(result.step.id)

    async def before_response(self) -> None:
        buf, self._buf = self._buf, None
        _current.set(None)
        if buf is None or not buf.lines:
            return
        if buf.dropped:
            note = f"{buf.dropped} more lines dropped (limit {MAX_LINES_PER_REQUEST})"
            buf.lines.append({"ts": buf.lines[-1]["ts"], "level": "WARNING", "logger": __name__, "message": note})
        lines = [{**line, "step": buf.step, "attempt": buf.attempt} for line in buf.lines]
        url = f"{self.client.api_origin.rstrip('/')}/v1/runs/{buf.run_id}/logs"
        task = asyncio.create_task(_send(url, _auth_header(self.client), lines))
        _pending.add(task)
        task.add_done_callback(_pending.discard)
