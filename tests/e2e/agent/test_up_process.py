"""``marketing-agent up`` as a new user runs it: one process, a fresh data folder, no manual step.

The functions are synced with the engine at start, the LLM answers through the fake Anthropic server and
the completion reaches the user's Telegram chat on the fake Bot API.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.agent_system import TELEGRAM_TOKEN
from support.fake_anthropic import FakeAnthropic
from support.fake_telegram import FakeTelegram
from support.up_process import running_up

pytestmark = pytest.mark.slow

CHAT = 777


@pytest.fixture
def up_process(tmp_path: Path, llm: FakeAnthropic, telegram: FakeTelegram) -> Iterator[tuple[str, str]]:
    """The running process's API origin and the API key it printed on its first start."""
    settings = {
        "LLM_PROVIDER": "anthropic",
        "ANTHROPIC_API_KEY": llm.api_key,
        "ANTHROPIC_BASE_URL": llm.base_url,
        "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_API_BASE_URL": telegram.origin,
    }
    with running_up(tmp_path, settings) as up:
        yield up.api_origin, up.key


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
