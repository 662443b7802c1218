"""``marketing-agent up`` as a new user runs it: one process, a fresh data folder, no manual step.

The functions are synced with the engine at start, the LLM answers through the fake Anthropic server and
the completion reaches the user's Telegram chat on the fake Bot API.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.agent_system import TELEGRAM_TOKEN
from support.fake_anthropic import FakeAnthropic
from support.fake_telegram import FakeTelegram
from support.net import free_port, wait_for_port

pytestmark = pytest.mark.slow

CHAT = 777


@pytest.fixture
def up_process(tmp_path: Path, llm: FakeAnthropic, telegram: FakeTelegram) -> Iterator[tuple[str, str]]:
    """The running process's API origin and the API key it printed on its first start."""
    api_port, engine_port = free_port(), free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("INNGEST_", "DATABASE_", "API_", "ENGINE_"))}
    env = {
        **base,
        "DATA_DIR": str(tmp_path / "data"),
        "API_PORT": str(api_port),
        "ENGINE_PORT": str(engine_port),
        "INNGEST_DEV": "1",
        "LLM_PROVIDER": "anthropic",
        "ANTHROPIC_API_KEY": llm.api_key,
        "ANTHROPIC_BASE_URL": llm.base_url,
        "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_API_BASE_URL": telegram.origin,
    }
    log_path = tmp_path / "up.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "marketing_agent", "up"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            wait_for_port(api_port, timeout=60)
            wait_for_port(engine_port, timeout=60)
            key = _printed_key(log_path)
            yield f"http://127.0.0.1:{api_port}", key
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def _printed_key(log_path: Path) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for line in log_path.read_text().splitlines():
            if line.strip().startswith("mak_"):
                return line.strip()
        time.sleep(0.1)
    raise AssertionError(f"no API key printed:\n{log_path.read_text()}")


def test_a_fresh_up_runs_a_skill_and_notifies_telegram(up_process: tuple[str, str], telegram: FakeTelegram) -> None:
    origin, key = up_process
    with httpx.Client(base_url=f"{origin}/api/v1", headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
        # The chat links itself through the bot (a chat id typed into the API is refused).
        assert http.post("/me/channels", json={"channel": "telegram", "address": str(CHAT)}).status_code == 422
        telegram.push_text(CHAT, f"/link {key}")
        telegram.wait_for_call("sendMessage", lambda c: int(c.params["chat_id"]) == CHAT, timeout=30)
        queued = http.post("/runs", json={"skillName": "copywriting", "message": "Homepage hero, please."})
        assert queued.status_code == 202, queued.text
        run_id = queued.json()["data"]["runId"]
        deadline = time.monotonic() + 60
        run: dict[str, Any] = {}
        while time.monotonic() < deadline:
            run = http.get(f"/runs/{run_id}").json()["data"]
            if run["status"] in {"completed", "failed"}:
                break
            time.sleep(0.1)
        assert run["status"] == "completed", run
        content = http.get(f"/outputs/{run['output']['id']}/content")
        assert "Ship faster with Acme." in content.text
    sent = telegram.wait_for_call(
        "sendMessage",
        lambda c: int(c.params["chat_id"]) == CHAT and "Homepage hero" in str(c.params["text"]),
        timeout=30,
    )
    assert "Homepage hero" in str(sent.params["text"])
