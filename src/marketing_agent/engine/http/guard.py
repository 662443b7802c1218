"""Who may use the inspection and control API (``/v1/...``, ``/v0/gql``, the operator's MCP at ``/mcp``).

Inngest's dev server leaves its GraphQL and control endpoints open to anyone who can reach the port (a
complaint we set out to fix, ``shared/docs/inngest-semantics.md`` §3). Here they follow the dashboard's rule
(``dashboard.auth.access``): open on loopback in dev mode; otherwise ``ENGINE_DASHBOARD_TOKEN`` as a Bearer
token or the dashboard's session cookie. In production mode the app's own SDK credential (``Bearer`` signing
key or its hash) is accepted too, so the API process can cancel runs with the key it already holds.

``POST /v1/runs/{id}/logs`` is not guarded here: the step-log intake checks the signing key itself.
"""

from __future__ import annotations

import hmac
import json

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from ..config import EngineConfig
from ..execution.client import hashed_signing_key, strip_key_prefix
from .auth import access


def _guarded(path: str) -> bool:
    if path in {"/v0/gql", "/mcp"}:
        return True
    return path.startswith("/v1/") and not path.endswith("/logs")


def _sdk_credential_ok(request: Request, config: EngineConfig) -> bool:
    key = config.signing_key
    if not key:
        return False
    token = strip_key_prefix(request.headers.get("authorization", "").removeprefix("Bearer ").strip())
    if not token:
        return False
    return hmac.compare_digest(token, hashed_signing_key(key))  # the hash only, never the raw key


class InspectionGuard:
    """Pure ASGI middleware: costs one string check on the hot path (``/e``, step calls are never guarded)."""

    def __init__(self, app: ASGIApp, config: EngineConfig) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _guarded(scope["path"]):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if access(request, self.config) == "ok" or _sdk_credential_ok(request, self.config):
            await self.app(scope, receive, send)
            return
        body = json.dumps(
            {"error": "unauthorized: send ENGINE_DASHBOARD_TOKEN as a Bearer token", "code": "unauthorized"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
