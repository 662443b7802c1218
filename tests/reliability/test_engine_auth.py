"""The engine in production mode (event keys and a signing key) refuses unsigned and mis-signed traffic:
events with an unknown key, SDK API calls without the signing key's hash, and app answers whose signature
does not verify (the run never takes such an answer as its result)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from marketing_agent.engine import EngineConfig, create_engine_app
from reliability.servers import serve_in_thread
from support.net import free_port

SIGNING_KEY = "signkey-prod-" + "ab12" * 16
WRONG_KEY = "signkey-prod-" + "cd34" * 16
EVENT_KEY = "event-key-reliability"


def bearer(key: str) -> dict[str, str]:
    raw = bytes.fromhex(key.split("-", 2)[2])
    return {"Authorization": f"Bearer {hashlib.sha256(raw).hexdigest()}"}


def signature(body: bytes, key: str) -> str:
    now = str(int(time.time()))
    mac = hmac.new(key.split("-", 2)[2].encode(), body + now.encode(), hashlib.sha256).hexdigest()
    return f"t={now}&s={mac}"


class MisSigningApp:
    """An 'SDK app' that answers every call with a final result signed with the WRONG key."""

    def __init__(self) -> None:
        self.calls = 0
        self.port = free_port()
        app = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                app.calls += 1
                body = json.dumps({"hijacked": True}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("x-inngest-sdk", "inngest-py:v0.5.19")
                self.send_header("x-inngest-signature", signature(body, WRONG_KEY))
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/inngest"


@pytest.fixture(scope="module")
def engine_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder: Path = tmp_path_factory.mktemp("engine-prod")
    config = EngineConfig(
        database_url=f"sqlite:///{folder / 'engine.db'}",
        dev=False,
        event_keys=(EVENT_KEY,),
        signing_key=SIGNING_KEY,
        cron=False,
        backoff_table=(0.1,),
    )
    with serve_in_thread(create_engine_app(config)) as url:
        yield url


@pytest.mark.parametrize("key", ["wrong-key", "", "x" * 300, EVENT_KEY.upper()])
def test_events_with_an_unknown_key_are_refused(engine_url: str, key: str) -> None:
    reply = httpx.post(f"{engine_url}/e/{key}", json={"name": "a/b", "data": {}})
    assert reply.status_code in (401, 404, 405), reply.text  # an empty key does not even match the route
    accepted = httpx.post(f"{engine_url}/e/{EVENT_KEY}", json={"name": "a/b", "data": {}})
    assert accepted.status_code == 200, accepted.text


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nope"}, bearer(WRONG_KEY), {"Authorization": f"Bearer {WRONG_KEY}"}],
    ids=["none", "garbage", "other-key-hash", "other-raw-key"],
)
def test_sdk_api_without_the_signing_key_is_refused(engine_url: str, headers: dict[str, str]) -> None:
    body = {"url": "http://127.0.0.1:9/api/inngest", "appName": "intruder", "functions": []}
    reply = httpx.post(f"{engine_url}/fn/register", json=body, headers=headers)
    assert reply.status_code == 401, reply.text
    assert httpx.get(f"{engine_url}/v0/runs/01ARZ3NDEKTSV4RRFFQ69G5FAV/actions", headers=headers).status_code == 401
    assert httpx.get(f"{engine_url}/v0/runs/01ARZ3NDEKTSV4RRFFQ69G5FAV/batch", headers=headers).status_code == 401
    assert httpx.get(f"{engine_url}/v1/apps", headers=headers).status_code == 401
    apps = httpx.get(f"{engine_url}/v1/apps", headers=bearer(SIGNING_KEY)).json()["data"]
    assert all(app.get("id") != "intruder" for app in apps)


def test_an_answer_signed_with_another_key_is_not_taken(engine_url: str) -> None:
    app = MisSigningApp()
    try:
        registration = {
            "url": app.url, "appName": "missigned", "v": "0.1", "deployType": "ping", "sdk": "py:v0.5.19",
            "framework": "fast_api",
            "functions": [{
                "id": "missigned-fn", "name": "fn", "triggers": [{"event": "missigned/go"}],
                "steps": {"step": {"id": "step", "name": "step", "runtime": {"type": "http", "url": app.url
                          + "?fnId=missigned-fn&stepId=step"}, "retries": {"attempts": 1}}},
            }],
        }  # fmt: skip
        reply = httpx.post(f"{engine_url}/fn/register", json=registration, headers=bearer(SIGNING_KEY))
        assert reply.status_code == 200, reply.text
        sent = httpx.post(f"{engine_url}/e/{EVENT_KEY}", json={"name": "missigned/go", "data": {}})
        assert sent.status_code == 200, sent.text
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            runs = httpx.get(
                f"{engine_url}/v1/runs", params={"function_id": "missigned-fn"}, headers=bearer(SIGNING_KEY)
            ).json()["data"]
            if runs and runs[0]["status"] in ("FAILED", "COMPLETED"):
                break
            time.sleep(0.1)
        assert app.calls >= 1
        [run] = runs
        detail = httpx.get(f"{engine_url}/v1/runs/{run['id']}", headers=bearer(SIGNING_KEY)).json()["data"]
        assert run["status"] == "FAILED", detail
        assert "hijacked" not in json.dumps(detail.get("output"))
    finally:
        app.server.shutdown()
        app.server.server_close()
