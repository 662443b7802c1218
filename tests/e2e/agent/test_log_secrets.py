"""No secret reaches the logs: ``marketing-agent up`` in production mode with every secret set, a skill run
through to its Telegram notification, the access log switched ON (its lines carry ``/e/<event key>``) —
then every line the process wrote is scanned for every secret the test set."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.fake_anthropic import FakeAnthropic
from support.fake_telegram import running_fake_telegram
from support.up_process import running_up

pytestmark = pytest.mark.slow

SIGNING_HEX = "5e" * 32
SECRETS = {
    "INNGEST_EVENT_KEY": "evtkey-0f3c9a7b51d24e88",
    "INNGEST_SIGNING_KEY": f"signkey-prod-{SIGNING_HEX}",
    "ANTHROPIC_API_KEY": "sk-ant-api03-logscan-9c1d2e3f4a5b6c7d8e9f",
    "TELEGRAM_BOT_TOKEN": "7012345678:AAH-logscan_Zx9Yw8Vu7Ts6Rq5Po4Nm3",
    "TELEGRAM_WEBHOOK_SECRET": "tg-webhook-secret-7a6b5c4d",
    "ENGINE_DASHBOARD_TOKEN": "dash-token-1b2c3d4e5f6a7b8c",
    "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T000/B000/logscanXXXXXXXXXXXX",
    "SMTP_URL": "smtp://mailer:smtp-pass-3e4f5a6b@127.0.0.1:2525",
}


def test_an_e2e_run_logs_no_secret(tmp_path: Path) -> None:
    chat = 4242
    with (
        FakeAnthropic(api_key=SECRETS["ANTHROPIC_API_KEY"], default_text="# Hero\n\nShip faster.\n") as llm,
        running_fake_telegram(SECRETS["TELEGRAM_BOT_TOKEN"]) as telegram,
    ):
        settings = {
            **SECRETS,
            "INNGEST_DEV": "0", "ACCESS_LOG": "true", "ENGINE_FAST_RETRIES": "1",
            "LLM_PROVIDER": "anthropic", "ANTHROPIC_BASE_URL": llm.base_url,
            "TELEGRAM_API_BASE_URL": telegram.origin,
        }  # fmt: skip
        with running_up(tmp_path, settings) as up:
            key = up.key
            _run_a_skill(f"{up.api_origin}/api/v1", key, telegram, chat)
        log_path = up.log_path
    text = log_path.read_text()
    assert "POST /e/[redacted]" in text, text[-3000:]  # the access log ran and its key was replaced
    assert "Logging error" not in text
    forms = {**SECRETS, "signing key hex": SIGNING_HEX}
    leaked = [name for name, value in forms.items() if value in text]
    assert leaked == [], f"secrets in the log: {leaked}"
    assert text.count(key) == 1  # the key printed once at first start (by design), never logged


def _run_a_skill(api: str, key: str, telegram: Any, chat: int) -> None:
    with httpx.Client(base_url=api, headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
        queued = http.post("/runs", json={"skillName": "copywriting", "message": "Homepage hero, please."})
        assert queued.status_code == 202, queued.text
        run_id = queued.json()["data"]["runId"]
        deadline = time.monotonic() + 60
        run: dict[str, Any] = {}
        while time.monotonic() < deadline:
            run = http.get(f"/runs/{run_id}").json()["data"]
            if run["status"] in {"completed", "failed"}:
                break
            time.sleep(0.2)
        assert run["status"] == "completed", run
