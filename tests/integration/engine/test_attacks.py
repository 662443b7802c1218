"""Attacks on the engine (issue 14, High), each performed and seen refused.

The engine app runs in-process behind httpx's ASGI transport, so a test sets whatever Host, Origin and
content type a browser page or a rebinding attacker would send.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from marketing_agent.engine import EngineConfig, EngineConfigError, create_engine_app
from marketing_agent.engine.execution.client import sign, verify

KEY = "signkey-prod-" + "ab" * 32


def _app_payload(app: str, fn_id: str, url: str) -> dict[str, Any]:
    step = {"id": "step", "name": "step", "runtime": {"type": "http", "url": f"{url}?fnId={fn_id}&stepId=step"}}
    return {
        "appname": app, "url": url, "framework": "fastapi", "sdk": "py:v0.5",
        "functions": [{"id": fn_id, "name": fn_id, "triggers": [{"event": "t/e"}], "steps": {"step": step}}],
    }  # fmt: skip


@asynccontextmanager
async def engine(tmp_path: Path, base_url: str = "http://127.0.0.1:8288", **config: Any) -> AsyncIterator[Any]:
    cfg = EngineConfig(database_url=f"sqlite:///{tmp_path / 'engine.db'}", workers=False, cron=False, **config)
    app = create_engine_app(cfg)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50123))
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client, app.state.engine


async def test_a_no_cors_page_cannot_register_functions(tmp_path: Path) -> None:
    """``fetch('http://127.0.0.1:8288/fn/register', {mode: 'no-cors', body})`` sends text/plain and an Origin."""
    body = httpx.Request("POST", "/", json=_app_payload("marketing-agent", "marketing-agent-x", "http://evil")).content
    async with engine(tmp_path) as (c, svc):
        plain = await c.post("/fn/register", content=body, headers={"content-type": "text/plain"})
        assert plain.status_code == 415
        with_origin = await c.post(
            "/fn/register", content=body, headers={"content-type": "application/json", "origin": "https://evil.example"}
        )
        assert with_origin.status_code == 403
        assert with_origin.json()["code"] == "origin_not_allowed"
        null_origin = await c.post("/e/k", json={"name": "a/b"}, headers={"origin": "null"})
        assert null_origin.status_code == 403
        assert await svc.store.list_functions() == []
        # The same request from a non-browser client (no Origin, JSON) is what the SDK sends: accepted.
        assert (await c.post("/fn/register", content=body, headers={"content-type": "application/json"})).is_success


async def test_dns_rebinding_is_refused(tmp_path: Path) -> None:
    """A page on evil.example whose name now resolves to 127.0.0.1 sends ``Host: evil.example:8288``."""
    async with engine(tmp_path, base_url="http://evil.example:8288") as (c, _):
        for method, path in (("GET", "/v1/runs"), ("POST", "/v1/events"), ("GET", "/"), ("POST", "/e/k")):
            reply = await c.request(method, path, json={"name": "a/b"} if method == "POST" else None)
            assert reply.status_code == 403, path
            assert reply.json()["code"] == "host_not_allowed"
    for host in ("localhost:8288", "127.0.0.1:8288", "[::1]:8288"):
        async with engine(tmp_path, base_url=f"http://{host}") as (c, _):
            assert (await c.get("/v1/runs")).status_code == 200, host
    # Behind a proxy the public name is listed, and only it.
    async with engine(tmp_path, base_url="http://engine.internal", allowed_hosts=("engine.internal",)) as (c, _):
        assert (await c.get("/v1/runs")).status_code == 200


async def test_same_origin_dashboard_posts_still_work(tmp_path: Path) -> None:
    async with engine(tmp_path, base_url="http://localhost:8288") as (c, _):
        await c.get("/events")
        form = {"name": "demo/x", "data": "{}", "csrf": c.cookies["engine_csrf"]}
        sent = await c.post("/events/send", data=form, headers={"origin": "http://localhost:8288"})
        assert sent.status_code == 303
        cross = await c.post("/events/send", data=form, headers={"origin": "http://localhost:9999"})
        assert cross.status_code == 403


async def test_oversized_bodies_are_cut_off_while_reading(tmp_path: Path) -> None:
    async with engine(tmp_path, max_request_bytes=1000) as (c, svc):
        declared = await c.post("/fn/register", content=b"{" + b" " * 2000 + b"}",
                                headers={"content-type": "application/json"})  # fmt: skip
        assert declared.status_code == 413

        async def chunks() -> AsyncIterator[bytes]:  # no content-length: only counting while reading stops it
            for _ in range(50):
                yield b" " * 100
            yield b"{}"

        streamed = await c.post("/v1/events", content=chunks(), headers={"content-type": "application/json"})
        assert streamed.status_code == 413
        assert await svc.store.list_events() == []


async def test_a_function_id_belongs_to_its_app(tmp_path: Path) -> None:
    async with engine(tmp_path) as (c, svc):
        first = await c.post("/fn/register", json=_app_payload("victim", "victim-run", "http://127.0.0.1:1/api"))
        assert first.status_code == 200
        takeover = await c.post("/fn/register", json=_app_payload("evil", "victim-run", "http://127.0.0.1:2/api"))
        assert takeover.status_code == 409
        assert takeover.json()["code"] == "function_taken"
        [fn] = await svc.store.list_functions()
        assert fn["app_id"] == "victim"
        assert svc.registry.get("victim-run").url.startswith("http://127.0.0.1:1/")


def test_dev_mode_only_binds_to_loopback() -> None:
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        EngineConfig(host=host)
    for host in ("0.0.0.0", "192.168.1.10", "::", "engine.example"):
        with pytest.raises(EngineConfigError, match="INNGEST_DEV=0"):
            EngineConfig(host=host)
    assert EngineConfig(host="0.0.0.0", insecure_dev=True).dev


def test_production_mode_needs_a_signing_key() -> None:
    with pytest.raises(EngineConfigError, match="signing key"):
        EngineConfig(dev=False, event_keys=("ek",), host="0.0.0.0")
    assert not EngineConfig(dev=False, event_keys=("ek",), signing_key=KEY, host="0.0.0.0").dev


def test_old_signatures_are_refused() -> None:
    body = b'{"a":1}'
    now = time.time()
    assert verify(body, sign(body, KEY), KEY)
    assert verify(body, sign(body, KEY, int(now) - 240), KEY)
    assert not verify(body, sign(body, KEY, int(now) - 301), KEY)  # a replayed answer from 5 minutes ago
    assert not verify(body, sign(body, KEY, int(now) + 301), KEY)
    assert not verify(body, None, KEY)


async def test_reserved_event_names_are_refused_from_the_event_api(tmp_path: Path) -> None:
    """A faked ``inngest/function.failed`` would run on-failure handlers with data of the sender's choosing."""
    async with engine(tmp_path) as (c, svc):
        for name in ("inngest/function.failed", "inngest/function.finished", "Inngest/scheduled.timer"):
            reply = await c.post("/e/k", json=[{"name": "ok/one", "data": {}}, {"name": name, "data": {}}])
            assert reply.status_code == 400, name
            assert "reserved" in reply.json()["error"]
        assert await svc.store.list_events() == []  # the whole batch was refused, not half of it
        assert (await c.post("/e/k", json={"name": "app/inngest-like", "data": {}})).status_code == 200


async def test_event_keys_are_checked_in_production(tmp_path: Path) -> None:
    cfg: dict[str, Any] = {"dev": False, "event_keys": ("ek-one", "ek-two"), "signing_key": KEY}
    async with engine(tmp_path, **cfg) as (c, _):
        for key in ("ek-two", "ek-one"):
            assert (await c.post(f"/e/{key}", json={"name": "a/b"})).status_code == 200
        for key in ("ek-on", "ek-one-", "EK-ONE"):
            assert (await c.post(f"/e/{key}", json={"name": "a/b"})).status_code == 401


async def test_server_errors_carry_a_request_id_and_no_exception_text(tmp_path: Path) -> None:
    async with engine(tmp_path) as (c, svc):

        async def broken(*_args: Any, **_kwargs: Any) -> Any:
            raise RuntimeError("connect to postgresql://admin:hunter2@10.0.0.7/engine failed")

        svc.store.list_apps = broken
        svc.store.schema_version = broken
        failed = await c.get("/v1/apps")
        assert failed.status_code == 500
        assert "hunter2" not in failed.text
        assert "10.0.0.7" not in failed.text
        assert failed.json()["request_id"] == failed.headers["x-request-id"]
        health = await c.get("/health")
        assert health.status_code == 503
        assert "hunter2" not in health.text
        assert "10.0.0.7" not in health.text


async def test_expressions_are_capped_in_size_and_cost(tmp_path: Path) -> None:
    """A trigger ``if`` that nests comprehensions over a large list would keep a worker busy for minutes."""
    nested = "event.data.xs.all(x, event.data.xs.all(y, x != y))"
    for expression in (nested, "event.data.a == 1 || " * 60 + "true"):
        payload = _app_payload("greedy", "greedy-f", "http://127.0.0.1:1/api")
        payload["functions"][0]["triggers"] = [{"event": "t/e", "expression": expression}]
        async with engine(tmp_path) as (c, svc):
            refused = await c.post("/fn/register", json=payload)
            assert refused.status_code == 400, expression[:40]
            assert "limit" in refused.json()["error"] or "macro" in refused.json()["error"]
            assert await svc.store.list_functions() == []
    payload = _app_payload("modest", "modest-f", "http://127.0.0.1:1/api")
    payload["functions"][0]["triggers"] = [{"event": "t/e", "expression": "event.data.xs.exists(x, x == 1)"}]
    async with engine(tmp_path) as (c, _):
        assert (await c.post("/fn/register", json=payload)).status_code == 200
