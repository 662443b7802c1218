"""The engine's HTTP client to apps (aiohttp: it is what decides throughput) and request signing."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp

SDK_HEADERS = {
    "content-type": "application/json",
    "user-agent": "marketing-agent-engine",
    "x-inngest-req-version": "2",
}


def strip_key_prefix(key: str) -> str:
    match = re.match(r"^signkey-\w+?-", key)
    return key[match.end() :] if match else key


def canonical(body: bytes) -> bytes:
    """RFC 8785 (JCS) form, which is what the SDK re-computes before checking a signature."""
    import jcs  # type: ignore[import-untyped]  # shipped with the inngest SDK

    return bytes(jcs.canonicalize(json.loads(body)))


def sign(body: bytes, key: str, t: int | None = None) -> str:
    t = int(time.time()) if t is None else t
    mac = hmac.new(strip_key_prefix(key).encode(), body, hashlib.sha256)
    mac.update(str(t).encode())
    return f"t={t}&s={mac.hexdigest()}"


#: A signature older (or further in the future) than this is refused: a captured request or answer cannot
#: be replayed later. The SDK side applies the same window (``marketing_agent.functions.serve_guard``).
MAX_SIGNATURE_AGE_S = 300


def verify(body: bytes, header: str | None, key: str, now: float | None = None) -> bool:
    if not header:
        return False
    parts = dict(p.split("=", 1) for p in header.split("&") if "=" in p)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - t) > MAX_SIGNATURE_AGE_S:
        return False
    expected = sign(body, key, t)
    return hmac.compare_digest(expected, header)


def hashed_signing_key(key: str) -> str:
    """What the SDK sends as ``authorization: Bearer …`` to the engine API."""
    return hashlib.sha256(bytes.fromhex(strip_key_prefix(key))).hexdigest()


@dataclass
class Reply:
    status: int  # 0: no HTTP answer (connection error / timeout)
    headers: dict[str, str]
    body: bytes
    error: str | None = None

    def json(self) -> Any:
        return json.loads(self.body)


class AppClient:
    """Calls apps. One aiohttp session, unlimited keep-alive connections."""

    def __init__(
        self, signing_key: str | None, timeout: float, dev: bool, ai_gateway_hosts: tuple[str, ...] = ()
    ) -> None:
        self._signing_key = signing_key
        self._ai_gateway_hosts = ai_gateway_hosts
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=10)
        self._dev = dev
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is None:
            # Idle connections are dropped before the app server drops them (uvicorn: 5 s), otherwise a call
            # after a 5 s sleep can reuse a socket the app is closing and fail with a connection reset.
            connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, keepalive_timeout=3)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        assert self._session is not None, "AppClient.start() was not awaited"
        return self._session

    def _headers(self, body: bytes) -> dict[str, str]:
        headers = dict(SDK_HEADERS)
        headers["x-inngest-server-kind"] = "dev" if self._dev else "cloud"
        if self._signing_key:
            headers["x-inngest-signature"] = sign(body, self._signing_key)
        return headers

    async def post(self, url: str, body: bytes, extra_headers: dict[str, str] | None = None) -> Reply:
        if self._signing_key:
            body = canonical(body)
        headers = self._headers(body)
        if extra_headers:
            headers.update(extra_headers)
        try:
            async with self.session.post(url, data=body, headers=headers) as resp:
                data = await resp.read()
                reply = Reply(resp.status, {k.lower(): v for k, v in resp.headers.items()}, data)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return Reply(0, {}, b"", error=f"{type(exc).__name__}: {exc}")
        if reply.status == 201:  # streamed: whitespace keep-alives, then an envelope
            reply = _unwrap_stream(reply)
        # With a key, every answer must be signed (not only those that say they come from an SDK): an unsigned
        # one is treated like no answer at all, so a man in the middle cannot inject step results.
        key = self._signing_key
        if key and not verify(reply.body, reply.headers.get("x-inngest-signature"), key):
            return Reply(0, reply.headers, reply.body, error="response signature verification failed")
        return reply

    async def put_sync(self, url: str) -> Reply:
        body = json.dumps({"url": url}).encode()
        headers = self._headers(body)
        try:
            async with self.session.put(url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=30)) as r:
                return Reply(r.status, {k.lower(): v for k, v in r.headers.items()}, await r.read())
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return Reply(0, {}, b"", error=f"{type(exc).__name__}: {exc}")

    async def provider_call(self, url: str, body: Any, headers: dict[str, str]) -> Reply:
        """``step.ai.infer``: the engine calls the model provider itself — only a host on the allow-list."""
        if not ai_host_allowed(url, self._ai_gateway_hosts):
            return Reply(0, {}, b"", error=f"{url_host(url)} is not in ENGINE_AI_GATEWAY_HOSTS")
        try:
            # Header names canonicalized as Go's net/http sends them (X-Api-Key), which providers expect.
            canonical_headers = {"-".join(p.capitalize() for p in k.split("-")): v for k, v in headers.items()}
            # No redirects: an allowed host must not bounce the call to an address that is not allowed.
            async with self.session.post(url, json=body, headers=canonical_headers, allow_redirects=False) as r:
                return Reply(r.status, {k.lower(): v for k, v in r.headers.items()}, await r.read())
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return Reply(0, {}, b"", error=f"{type(exc).__name__}: {exc}")


def url_host(url: str) -> str:
    """``host:port`` of an http(s) URL (default port filled in); ``""`` for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https") or not parts.hostname or port is None:
        return ""
    return f"{parts.hostname.lower()}:{port}"


def ai_host_allowed(url: str, allowed: tuple[str, ...]) -> bool:
    """An entry ``host`` allows that host on any port; ``host:port`` only that port. Nothing else passes —
    loopback and private addresses included, unless listed."""
    target = url_host(url)
    if not target:
        return False
    host = target.rsplit(":", 1)[0]
    return any(entry in (target, host) for entry in allowed)


def _unwrap_stream(reply: Reply) -> Reply:
    try:
        envelope = json.loads(reply.body.strip())
        inner_headers = {k.lower(): str(v) for k, v in (envelope.get("headers") or {}).items()}
        headers = {**reply.headers, **inner_headers}
        body = envelope.get("body")
        raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        return Reply(int(envelope.get("status", 500)), headers, raw)
    except (ValueError, AttributeError, TypeError) as exc:
        return Reply(0, reply.headers, reply.body, error=f"invalid streamed response: {exc}")


def ai_headers(fmt: str, auth_key: str | None, headers: dict[str, str] | None) -> dict[str, str]:
    out = {"content-type": "application/json"}
    if auth_key:
        if fmt == "anthropic":
            out["x-api-key"] = auth_key
            out["anthropic-version"] = "2023-06-01"
        elif fmt == "gemini":
            out["x-goog-api-key"] = auth_key
        else:
            out["authorization"] = f"Bearer {auth_key}"
    out.update(headers or {})
    return out
