"""Who may see the dashboard and ``/metrics``, and CSRF protection of its forms.

* No token configured: open to loopback clients in dev mode, refused to everyone else (a dashboard that can
  cancel runs must never be open on a network by accident — Inngest's self-hosted UI is, see
  ``inngest-semantics.md`` §3).
* Token configured (``ENGINE_DASHBOARD_TOKEN``): always required. Scrapers and scripts send
  ``Authorization: Bearer <token>``; a browser logs in once and gets a session cookie holding an HMAC of the
  token (never the token itself), so rotating the token logs every browser out.
* Every POST form carries a CSRF token that must equal the ``engine_csrf`` cookie (double submit); a
  cross-site page can make the browser send the cookie but cannot read it to put it in the form.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets

from starlette.requests import Request
from starlette.responses import Response

from ..config import EngineConfig

SESSION_COOKIE = "engine_session"
CSRF_COOKIE = "engine_csrf"
_SESSION_CONTEXT = b"marketing-agent engine dashboard session v1"


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def session_value(token: str) -> str:
    return hmac.new(token.encode(), _SESSION_CONTEXT, hashlib.sha256).hexdigest()


def access(request: Request, config: EngineConfig) -> str:
    """``ok``, ``login`` (a token exists, none presented) or ``locked`` (no token, not dev loopback)."""
    token = config.dashboard_token
    if not token:
        client = request.client.host if request.client else None
        return "ok" if config.dev and is_loopback(client) else "locked"
    bearer = request.headers.get("authorization", "")
    if bearer.lower().startswith("bearer ") and hmac.compare_digest(bearer[7:].strip().encode(), token.encode()):
        return "ok"
    cookie = request.cookies.get(SESSION_COOKIE, "")
    if cookie and hmac.compare_digest(cookie.encode(), session_value(token).encode()):
        return "ok"
    return "login"


def token_matches(config: EngineConfig, candidate: str) -> bool:
    token = config.dashboard_token
    return bool(token) and hmac.compare_digest(candidate.encode(), str(token).encode())


def csrf_token(request: Request) -> str:
    """The request's CSRF token (the cookie's value, or a fresh one that :func:`finish` will set)."""
    existing = request.cookies.get(CSRF_COOKIE)
    if existing and len(existing) >= 32:
        return existing
    fresh: str | None = getattr(request.state, "csrf_new", None)
    if fresh is None:
        fresh = secrets.token_urlsafe(32)
        request.state.csrf_new = fresh
    return fresh


def csrf_ok(request: Request, submitted: str | None) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not submitted:
        return False
    if not hmac.compare_digest(cookie.encode(), submitted.encode()):
        return False
    # A browser sends Origin on a cross-site POST; when present it must be this host.
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = request.headers.get("host", "")
        return origin.split("://", 1)[-1] == host
    return True


def finish(request: Request, response: Response) -> Response:
    """Set the CSRF cookie when this request minted one; add the headers every dashboard page carries."""
    fresh = getattr(request.state, "csrf_new", None)
    if fresh:
        response.set_cookie(CSRF_COOKIE, fresh, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", path="/")  # fmt: skip
    response.headers.setdefault("x-frame-options", "DENY")
    response.headers.setdefault("x-content-type-options", "nosniff")
    response.headers.setdefault("referrer-policy", "same-origin")
    response.headers.setdefault(
        "content-security-policy",
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:;"
        " frame-ancestors 'none'; form-action 'self'",
    )
    return response
