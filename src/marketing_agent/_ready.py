"""Start-up ordering for ``marketing-agent up``: hold API requests until the engine knows our functions.

In one process the engine can only sync the app once the API serves ``/api/inngest``, and the API starts
taking requests at the same moment. An event sent before the sync matches no function (Inngest behaves the
same), so a run submitted in that second would stay ``queued`` with nothing to execute it. The gate makes
``/api/v1`` requests wait (up to ``timeout``) until the engine has recorded a sync made by this process;
``/api/inngest`` and ``/health`` pass at once, since the sync itself needs them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)


class ReadyGate:
    def __init__(self, app: ASGIApp, ready: asyncio.Event, *, prefix: str = "/api/v1", timeout: float = 60.0):
        self.app = app
        self.ready = ready
        self.prefix = prefix
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.prefix) and not self.ready.is_set():
            try:
                await asyncio.wait_for(self.ready.wait(), self.timeout)
            except TimeoutError:
                await _unavailable(send)
                return
        await self.app(scope, receive, send)


async def _unavailable(send: Send) -> None:
    body = json.dumps(
        {
            "success": False,
            "error": {
                "code": "SERVICE_UNAVAILABLE",
                "message": "the engine has not synced the functions yet; see the log of `marketing-agent up`",
            },
        }
    ).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def mark_ready_when_synced(engine_app: Any, ready: asyncio.Event, stop: asyncio.Event) -> None:
    """Set ``ready`` once the in-process engine has an app synced after this call began."""
    started_ms = int(time.time() * 1000)
    service = engine_app.state.engine
    while not stop.is_set():
        # The store opens in the engine's lifespan; until then (and on a transient error) just look again.
        with contextlib.suppress(Exception):
            apps = await service.store.list_apps()
            if any(app["synced_at"] >= started_ms and not app["error"] for app in apps):
                log.info("functions synced with the engine; the API takes requests")
                ready.set()
                return
        await asyncio.sleep(0.05)
