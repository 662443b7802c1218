"""What every request to the engine must look like before any route sees it (one pure ASGI middleware).

A dev engine trusts whoever reaches its loopback port — and a browser on the developer's machine reaches it:
a page can ``fetch('http://127.0.0.1:8288/fn/register', {mode: 'no-cors'})`` with a ``text/plain`` body, or
use DNS rebinding (``evil.example`` first resolving to the attacker, then to 127.0.0.1) to read answers. So:

* **Host**: in dev mode, and whenever ``ENGINE_ALLOWED_HOSTS`` is set, the ``Host`` header must name this
  machine (``localhost``, 127.0.0.1, ::1), the bind host, or a listed name. A rebinding page sends its own
  name and is refused (``403 host_not_allowed``). A production engine bound to all interfaces without a
  list skips the check: there every endpoint is authenticated by a key.
* **Origin**: a state-changing request (POST, PUT, PATCH, DELETE) that carries ``Origin`` must come from the
  same origin (``Origin`` equals ``Host``); browsers send ``Origin`` on every such request, other clients
  (the SDK, curl) do not. ``Origin: null`` (sandboxed frames, redirects) is refused.
* **Content type**: a state-changing request with a body to a JSON endpoint (``/e``, ``/fn``, ``/v0``,
  ``/v1``) must say ``application/json`` — the one type a no-cors request cannot send (``415``).
* **Failures**: an unhandled exception answers ``500`` with a request id and "internal error", never the
  exception's text (which is logged under that id).
* **Body size**: ``content-length`` above ``max_request_bytes`` is refused before reading, and a body that
  grows past it while being read (chunked) stops there (``413``); no endpoint reads an unbounded body.
"""

from __future__ import annotations

import json
import logging
import uuid
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..config import EngineConfig, is_loopback_host, is_wildcard_host
from ..errors import PayloadTooLarge

log = logging.getLogger(__name__)

_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_JSON_PREFIXES = ("/e/", "/fn/", "/v0/", "/v1/")


class BodyTooLarge(PayloadTooLarge):
    """Raised from ``receive`` when a body grows past the limit; routes that map EngineError answer 413."""


def _host_name(value: str) -> str:
    """``"[::1]:8288"`` → ``"::1"``, ``"Example.COM:443"`` → ``"example.com"``."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value[1:]
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class RequestGuard:
    def __init__(self, app: ASGIApp, config: EngineConfig) -> None:
        self.app = app
        self.limit = config.max_request_bytes
        names = {_host_name(h) for h in config.allowed_hosts}
        if not is_wildcard_host(config.host):
            names.add(_host_name(config.host))
        self.allowed_names = frozenset(names)
        bare_wildcard = is_wildcard_host(config.host) and not config.allowed_hosts
        self.check_host = bool(config.allowed_hosts) or (config.dev and not bare_wildcard)

    def host_allowed(self, host: str) -> bool:
        name = _host_name(host)
        return is_loopback_host(name) or name in self.allowed_names

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        refusal = self._refusal(scope, headers)
        if refusal is not None:
            await _answer(send, *refusal)
            return
        await self._limited(scope, receive, send)

    def _refusal(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str, str] | None:
        host = headers.get("host", "")
        if self.check_host and not self.host_allowed(host):
            return 403, "host_not_allowed", f"Host {host!r} is not this engine (see ENGINE_ALLOWED_HOSTS)"
        method = scope["method"]
        if method not in _UNSAFE:
            return None
        origin = headers.get("origin")
        if origin is not None:
            parts = urlsplit(origin)
            if origin == "null" or parts.netloc.lower() != host.lower():
                return 403, "origin_not_allowed", f"cross-origin request from {origin!r} refused"
        length = headers.get("content-length")
        has_body = "transfer-encoding" in headers or (length is not None and length.strip() not in ("", "0"))
        if length is not None and length.strip().isdigit() and int(length) > self.limit:
            return 413, "payload_too_large", f"request is {int(length)} bytes; the limit is {self.limit}"
        ctype = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if has_body and scope["path"].startswith(_JSON_PREFIXES) and ctype != "application/json":
            return 415, "unsupported_media_type", "send the body as content-type: application/json"
        return None

    async def _limited(self, scope: Scope, receive: Receive, send: Send) -> None:
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge(f"request is over {self.limit} bytes")
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge as exc:
            if started:
                raise
            await _answer(send, 413, exc.code, str(exc))
        except Exception:
            if started:
                raise
            # The exception's text (SQL, paths, addresses) goes to the log under an id the client can quote.
            request_id = uuid.uuid4().hex
            log.exception("unhandled error in %s %s", scope["method"], scope["path"], extra={"request_id": request_id})
            await _answer(send, 500, "internal_error", "internal error", request_id=request_id)


async def _answer(send: Send, status: int, code: str, message: str, *, request_id: str | None = None) -> None:
    payload: dict[str, object] = {"error": message, "code": code, "status": status}
    headers = [(b"content-type", b"application/json")]
    if request_id:
        payload["request_id"] = request_id
        headers.append((b"x-request-id", request_id.encode()))
    body = json.dumps(payload).encode()
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
