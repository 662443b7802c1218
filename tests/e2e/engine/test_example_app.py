"""The documented example: ``examples/engine_app`` served by uvicorn, driven by ``marketing-agent engine``
(both real processes), as examples/engine_app/README.md says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from integration.engine.harness import EngineClient
from support.net import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.slow


def test_example_app(tmp_path: Path) -> None:
    app_port, engine_port = free_port(), free_port()
    engine_url = f"http://127.0.0.1:{engine_port}"
    env = {**os.environ, "INNGEST_DEV": "1", "ENGINE_URL": engine_url, "PYTHONUNBUFFERED": "1"}
    app = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "examples.engine_app.app:app", "--port", str(app_port), "--log-level",
         "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    engine = subprocess.Popen(
        [sys.executable, "-c", "from marketing_agent.cli import main; main()", "engine", "--port", str(engine_port),
         "--db", f"sqlite:///{tmp_path / 'engine.db'}", "--app", f"http://127.0.0.1:{app_port}/api/inngest",
         "--fast-retries", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    client = EngineClient(engine_url)
    try:
        wait_for_port(app_port)
        wait_for_port(engine_port)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            fns = httpx.get(f"{engine_url}/v1/functions").json()["data"]
            if len(fns) == 4:  # three functions + the on_failure handler
                break
            time.sleep(0.1)
        assert {f["id"] for f in fns} == {
            "example-shop-process-order", "example-shop-risky-import", "example-shop-risky-import-failure",
            "example-shop-daily-digest",
        }  # fmt: skip

        order = client.run_for("shop/order.placed", {"items": 2, "email": "a@b.c"})
        assert order["status"] == "COMPLETED"
        out = json.loads(order["output"])
        assert out["receipt"] == "receipt sent to a@b.c"
        charge = [a for a in order["attempts"] if a["outcome"] == "error"]
        assert len(charge) == 2  # the payment step failed twice before it succeeded

        failed = client.run_for("shop/import.requested", {"file": "catalog.csv"})
        assert failed["status"] == "FAILED"
        deadline = time.monotonic() + 15
        handler: list[dict[str, object]] = []
        while not handler and time.monotonic() < deadline:
            handler = client.http.get(
                "/v1/runs", params={"function_id": "example-shop-risky-import-failure", "status": "COMPLETED"}
            ).json()["data"]
            time.sleep(0.1)
        assert handler
        assert "column 'price' is missing" in str(handler[0]["output"])
    finally:
        client.close()
        for proc in (engine, app):
            proc.terminate()
            proc.wait(timeout=15)
