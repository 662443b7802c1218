"""``POST /v1/runs/{run_id}/logs``: log lines an app emitted while running a run's steps.

The app side is ``marketing_agent.functions.step_logs`` (an Inngest SDK middleware): it buffers the
``logging`` records of each step execution and ships them here in one batch per request, best effort. The
lines are stored by ``store_inspect.insert_logs`` (capped per run) and shown under each step on the run page.
Auth is the SDK's: open in dev mode, ``Bearer <sha256 of the signing key>`` in production.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .._ids import now_ms
from ..config import EngineConfig
from ..execution.client import hashed_signing_key, strip_key_prefix
from ..service import EngineService
from ..store import inspect as store_inspect

log = logging.getLogger(__name__)
MAX_LINES_PER_REQUEST = 500
MAX_MESSAGE_CHARS = 4000
MAX_BODY_BYTES = 2 * 1024 * 1024


def _error(message: str, status: int) -> Response:
    return JSONResponse({"error": message, "status": status}, status_code=status)


def _line(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("message"), str):
        return None
    ts = raw.get("ts")
    attempt = raw.get("attempt")
    return {
        "step": str(raw.get("step") or "")[:200],
        "attempt": attempt if isinstance(attempt, int) and 0 <= attempt < 1000 else 0,
        "ts": int(ts) if isinstance(ts, int | float) and 0 < ts < 2**47 else now_ms(),
        "level": str(raw.get("level") or "INFO")[:16],
        "logger": str(raw.get("logger") or "")[:200],
        "message": raw["message"][:MAX_MESSAGE_CHARS],
    }


class StepLogsEndpoint:
    def __init__(self, service: EngineService, config: EngineConfig) -> None:
        self.service = service
        self.config = config

    def _authorized(self, request: Request) -> bool:
        key = self.config.signing_key
        if self.config.dev or not key:
            return True
        token = strip_key_prefix(request.headers.get("authorization", "").removeprefix("Bearer ").strip())
        return hmac.compare_digest(token, hashed_signing_key(key))  # the hash only, never the raw key

    async def handle(self, request: Request) -> Response:
        if not self._authorized(request):
            return _error("invalid signing key", 401)
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            return _error(f"body is over {MAX_BODY_BYTES} bytes", 413)
        try:
            body = json.loads(raw)
        except ValueError:
            return _error("body is not valid JSON", 400)
        items = body.get("lines") if isinstance(body, dict) else None
        if not isinstance(items, list):
            return _error("lines (a list) is required", 400)
        lines = [x for x in (_line(i) for i in items[:MAX_LINES_PER_REQUEST]) if x is not None]
        run_id = request.path_params["run_id"]
        store = self.service.store
        if await store.run_events(run_id) is None:
            return _error("run not found", 404)
        stored = await store_inspect.insert_logs(store, run_id, lines)
        return JSONResponse({"data": {"stored": stored}}, status_code=201)
