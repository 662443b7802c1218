"""Who may use the dashboard and /metrics, the login flow, and CSRF protection of the forms.

The engine app runs in-process (its lifespan started by hand) behind httpx's ASGI transport, which lets a
test choose the client's address: loopback or not.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from marketing_agent.engine import EngineConfig, create_engine_app

TOKEN = "s3cret-dashboard-token"
REMOTE = "203.0.113.9"


@asynccontextmanager
async def engine_client(
    tmp_path: Path, client_host: str = "127.0.0.1", **config: Any
) -> AsyncIterator[httpx.AsyncClient]:
    cfg = EngineConfig(database_url=f"sqlite:///{tmp_path / 'engine.db'}", workers=False, cron=False, **config)
    app = create_engine_app(cfg)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=(client_host, 50123))
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8288") as client:
            yield client


async def test_dev_mode_is_open_on_loopback_only(tmp_path: Path) -> None:
    async with engine_client(tmp_path) as local:
        assert (await local.get("/")).status_code == 200
        assert (await local.get("/metrics")).status_code == 200
    async with engine_client(tmp_path, REMOTE) as remote:
        for path in ("/", "/runs", "/events", "/metrics"):
            assert (await remote.get(path)).status_code == 403, path
        assert "ENGINE_DASHBOARD_TOKEN" in (await remote.get("/")).text
        # The SDK-facing and JSON API are not the dashboard's to guard.
        assert (await remote.get("/health")).status_code == 200


async def test_token_required_off_dev(tmp_path: Path) -> None:
    cfg = {"dev": False, "event_keys": ("ek",), "signing_key": "signkey-prod-" + "ab" * 32, "dashboard_token": TOKEN}
    async with engine_client(tmp_path, REMOTE, **cfg) as c:
        reply = await c.get("/runs?status=failed")
        assert reply.status_code == 303
        assert reply.headers["location"] == "/login?next=/runs%3Fstatus%3Dfailed"
        assert (await c.get("/runs", headers={"accept": "application/json"})).status_code == 401
        assert (await c.get("/", headers={"authorization": "Bearer wrong"})).status_code == 401
        assert (await c.get("/", headers={"authorization": f"Bearer {TOKEN}"})).status_code == 200
        assert (await c.get("/metrics")).status_code == 401
        metrics = await c.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"})
        assert metrics.status_code == 200
        assert "engine_runs" in metrics.text
    # A token is required from loopback too once one is set.
    async with engine_client(tmp_path, dashboard_token=TOKEN) as c:
        assert (await c.get("/")).status_code == 303


async def test_login_sets_a_session_cookie_and_logout_clears_it(tmp_path: Path) -> None:
    async with engine_client(tmp_path, REMOTE, dashboard_token=TOKEN) as c:
        form = await c.get("/login?next=/events")
        assert form.status_code == 200
        csrf = c.cookies["engine_csrf"]
        bad = await c.post("/login", data={"csrf": csrf, "token": "nope", "next": "/events"})
        assert bad.status_code == 401
        assert "engine_session" not in c.cookies
        evil_next = await c.post("/login", data={"csrf": csrf, "token": TOKEN, "next": "//evil.example/x"})
        assert evil_next.headers["location"] == "/"
        ok = await c.post("/login", data={"csrf": csrf, "token": TOKEN, "next": "/events"})
        assert ok.status_code == 303
        assert ok.headers["location"] == "/events"
        assert TOKEN not in c.cookies["engine_session"]
        assert (await c.get("/events")).status_code == 200
        stolen = c.cookies["engine_session"]
        await c.post("/logout")
        assert (await c.get("/events")).status_code == 303
        # A copy of the cookie (taken before logout) no longer works either: logout revoked the session.
        c.cookies.set("engine_session", stolen)
        replay = await c.get("/events")
        assert replay.status_code == 303


async def test_login_is_throttled(tmp_path: Path) -> None:
    async with engine_client(tmp_path, "203.0.113.77", dashboard_token=TOKEN) as c:
        await c.get("/login")
        csrf = c.cookies["engine_csrf"]
        for attempt in range(5):
            bad = await c.post("/login", data={"csrf": csrf, "token": f"guess-{attempt}", "next": "/"})
            assert bad.status_code == 401
        # Even the right token waits now: guessing costs minutes, not milliseconds.
        blocked = await c.post("/login", data={"csrf": csrf, "token": TOKEN, "next": "/"})
        assert blocked.status_code == 429
        assert "engine_session" not in c.cookies


async def test_the_session_cookie_is_secure_behind_a_tls_proxy(tmp_path: Path) -> None:
    """uvicorn trusts X-Forwarded-Proto from FORWARDED_ALLOW_IPS; the cookie then gets Secure."""
    cfg = EngineConfig(database_url=f"sqlite:///{tmp_path / 'engine.db'}", workers=False, cron=False,
                       dashboard_token=TOKEN)  # fmt: skip
    app = create_engine_app(cfg)
    proxied = ProxyHeadersMiddleware(app, trusted_hosts="10.0.0.2")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=proxied, client=("10.0.0.2", 50123))
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8288") as c:
            form = await c.get("/login", headers={"x-forwarded-proto": "https"})
            assert "secure" in form.headers["set-cookie"].lower()
            csrf = form.headers["set-cookie"].split("engine_csrf=")[1].split(";")[0]
            # httpx keeps Secure cookies for https only; the proxy spoke https to the browser, so send it by hand.
            headers = {"x-forwarded-proto": "https", "cookie": f"engine_csrf={csrf}"}
            ok = await c.post("/login", data={"csrf": csrf, "token": TOKEN, "next": "/"}, headers=headers)
            assert ok.status_code == 303
            assert "secure" in ok.headers["set-cookie"].lower()


async def test_forms_need_the_csrf_token(tmp_path: Path) -> None:
    async with engine_client(tmp_path) as c:
        await c.get("/events")
        csrf = c.cookies["engine_csrf"]
        event = {"name": "demo/csrf", "data": '{"n": 1}'}
        assert (await c.post("/events/send", data=event)).status_code == 403
        assert (await c.post("/events/send", data={**event, "csrf": "x" * 43})).status_code == 403
        cross = await c.post("/events/send", data={**event, "csrf": csrf}, headers={"origin": "https://evil.example"})
        assert cross.status_code == 403
        assert (await c.get("/v1/events", params={"name": "demo/csrf"})).json()["data"] == []
        sent = await c.post("/events/send", data={**event, "csrf": csrf}, headers={"origin": "http://localhost:8288"})
        assert sent.status_code == 303
        [stored] = (await c.get("/v1/events", params={"name": "demo/csrf"})).json()["data"]
        assert sent.headers["location"].startswith(f"/events/{stored['id']}")
        assert stored["payload"]["data"] == {"n": 1}


async def test_step_log_endpoint_checks_the_signing_key_in_production(tmp_path: Path) -> None:
    key = "signkey-prod-" + "ab" * 32
    async with engine_client(tmp_path, dev=False, event_keys=("ek",), signing_key=key) as c:
        reply = await c.post("/v1/runs/01NOSUCHRUN0000000000000000/logs", json={"lines": []})
        assert reply.status_code == 401
