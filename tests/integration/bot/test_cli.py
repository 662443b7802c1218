"""`marketing-agent bot set-webhook / delete-webhook` against the fake Bot API."""

from __future__ import annotations

from typer.testing import CliRunner

from marketing_agent.bot import bot_cli
from support.fake_telegram import FakeTelegram


def test_set_and_delete_webhook(fake: FakeTelegram) -> None:
    env = {
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_BASE_URL": fake.origin,
        "TELEGRAM_WEBHOOK_SECRET": "cli-secret",
    }
    runner = CliRunner()
    result = runner.invoke(bot_cli, ["set-webhook", "https://agent.example.com/api/v1/webhooks/telegram"], env=env)
    assert result.exit_code == 0, result.output
    assert (fake.webhook_url, fake.webhook_secret) == (
        "https://agent.example.com/api/v1/webhooks/telegram",
        "cli-secret",
    )
    assert fake.token not in result.output

    result = runner.invoke(bot_cli, ["delete-webhook"], env=env)
    assert result.exit_code == 0, result.output
    assert fake.webhook_url is None


def test_set_webhook_needs_a_secret(fake: FakeTelegram) -> None:
    env = {"TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_BASE_URL": fake.origin, "TELEGRAM_WEBHOOK_SECRET": ""}
    result = CliRunner().invoke(bot_cli, ["set-webhook", "https://agent.example.com/hook"], env=env)
    assert result.exit_code == 1
    assert "TELEGRAM_WEBHOOK_SECRET must be set" in result.output
    assert fake.webhook_url is None


def test_without_a_token_the_cli_says_so() -> None:
    result = CliRunner().invoke(bot_cli, ["delete-webhook"], env={"TELEGRAM_BOT_TOKEN": ""})
    assert result.exit_code == 1
    assert "TELEGRAM_BOT_TOKEN is not set" in result.output
