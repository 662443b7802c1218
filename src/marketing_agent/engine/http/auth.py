"""Who may see the dashboard and ``/metrics``, and CSRF protection of its forms.

* No token configured: open to loopback clients in dev mode, refused to everyone else (a dashboard that can
  cancel runs must never be open on a network by accident — Inngest's self-hosted UI is, see
  ``inngest-semantics.md`` §3).
* Token configured (``ENGINE_DASHBOARD_TOKEN``): always required. Scrapers and scripts send
  ``Authorization: Bearer <token>``; a browser logs in once and gets a session cookie
  ``<session id>.<expiry>.<HMAC keyed by the token>`` (never the token itself): it expires after
  :data:`SESSION_TTL_S`, logout revokes its id, and rotating the token logs every browser out. Revocation is
  kept in the process's memory: with several engine processes, a logged-out cookie stays valid on the others
  until it expires (12 hours) — rotate the token to end every session at once.
* Failed logins are throttled per client address (:data:`LOGIN_FAILURES` per :data:`LOGIN_WINDOW_S`).
* Every POST form carries a CSRF token that must equal the ``engine_csrf`` cookie (double submit); a
  cross-site page can make the browser send the cookie but cannot read it to put it in the form.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import time

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


SESSION_TTL_S = 12 * 3600
LOGIN_FAILURES = 5
LOGIN_WINDOW_S = 300.0
_revoked: dict[str, int] = {}  # session id -> its expiry (forgotten once expired)
_failures: dict[str, list[float]] = {}  # client address -> times of failed logins in the window


def _session_mac(token: str, sid: str, expires: int) -> str:
    key = hmac.new(token.encode(), _SESSION_CONTEXT, hashlib.sha256).digest()
    return hmac.new(key, f"{sid}.{expires}".encode(), hashlib.sha256).hexdigest()


def new_session(token: str, now: float | None = None) -> str:
    """A fresh session cookie value for a browser that just logged in."""
    sid = secrets.token_urlsafe(18)
    expires = int(time.time() if now is None else now) + SESSION_TTL_S
    return f"{sid}.{expires}.{_session_mac(token, sid, expires)}"


def _parse(cookie: str) -> tuple[str, int, str] | None:
    parts = cookie.split(".")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    return parts[0], int(parts[1]), parts[2]


def session_ok(token: str, cookie: str, now: float | None = None) -> bool:
    parsed = _parse(cookie)
    if parsed is None:
        return False
    sid, expires, mac = parsed
    if expires < (time.time() if now is None else now) or sid in _revoked:
        return False
    return hmac.compare_digest(mac, _session_mac(token, sid, expires))


def revoke_session(cookie: str) -> None:
    """Logout: this session id is refused from now on (in this process; see the module docstring)."""
    parsed = _parse(cookie)
    if parsed is None:
        return
    now = int(time.time())
    for sid, expires in list(_revoked.items()):
        if expires < now:
            del _revoked[sid]
    _revoked[parsed[0]] = parsed[1]


def login_throttled(client: str, now: float | None = None) -> bool:
    """True when ``client`` failed :data:`LOGIN_FAILURES` logins within the window (guessing the token)."""
    moment = time.monotonic() if now is None else now
    recent = [t for t in _failures.get(client, []) if t > moment - LOGIN_WINDOW_S]
    _failures[client] = recent
    if not recent:
        del _failures[client]
    return len(recent) >= LOGIN_FAILURES


def record_login_failure(client: str, now: float | None = None) -> None:
    _failures.setdefault(client, []).append(time.monotonic() if now is None else now)


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
    if cookie and session_ok(token, cookie):
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
