"""What a request to the serve endpoint (``/api/inngest``) must look like before the Inngest SDK sees it.

The SDK runs whatever step a well-formed request names, on our LLM key. In production it checks the
request's signature, but not its age; in dev mode it checks nothing. So, in front of it (pure ASGI):

* a request carrying ``Origin`` is refused (``403``): the engine and Inngest Cloud never send one, a browser
  always does on POST/PUT — a page on the developer's machine (``no-cors`` fetch, DNS rebinding) cannot
  drive the endpoint;
* a POST or PUT with a body must be ``application/json`` (``415``), the type no cross-site form can send;
* a POST without a body is refused (``400``) instead of reaching the SDK, which answered it with a ``500``;
* with a signing key, a signature whose timestamp is more than :data:`MAX_SIGNATURE_AGE_S` away from now is
  refused (``401``), so a captured request cannot be replayed later. The engine applies the same window to
  the answers it receives (``engine/execution/client.py``); a unit test keeps the two constants equal.
"""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

MAX_SIGNATURE_AGE_S = 300
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def signature_fresh(header: str, now: float | None = None) -> bool:
    """``t=<unix seconds>&s=<hex>``: True when ``t`` is present and within the window."""
    values = parse_qs(header).get("t") or []
    try:
        t = int(values[0])
    except (IndexError, ValueError):
        return False
    return abs((time.time() if now is None else now) - t) <= MAX_SIGNATURE_AGE_S


class ServeGuard:
    def __init__(self, app: ASGIApp, *, path: str, signed: bool) -> None:
        self.app = app
        self.path = path.rstrip("/")
        self.signed = signed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].rstrip("/") == self.path and scope["method"] in _UNSAFE:
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            refusal = self._refusal(headers) or _empty_call(scope["method"], headers)
            if refusal is not None:
                await _answer(send, *refusal)
                return
        await self.app(scope, receive, send)

    def _refusal(self, headers: dict[str, str]) -> tuple[int, str] | None:
        if "origin" in headers:
            return 403, "cross-origin requests to the serve endpoint are refused"
        length = headers.get("content-length", "").strip()
        has_body = "transfer-encoding" in headers or length not in ("", "0")
        ctype = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if has_body and ctype != "application/json":
            return 415, "send the body as content-type: application/json"
        signature = headers.get("x-inngest-signature")
        if self.signed and signature is not None and not signature_fresh(signature):
            return 401, f"request signature is older than {MAX_SIGNATURE_AGE_S} seconds (or has no timestamp)"
        return None


def _empty_call(method: str, headers: dict[str, str]) -> tuple[int, str] | None:
    """A POST (a step call) must carry its run request; the SDK answered an empty one with a 500. A PUT
    (the engine's sync) has no body and is left alone."""
    length = headers.get("content-length", "").strip()
    if method == "POST" and "transfer-encoding" not in headers and length in ("", "0"):
        return 400, "a call to the serve endpoint needs its JSON run request as the body"
    return None


async def _answer(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message, "status": status}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
